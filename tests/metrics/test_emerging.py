"""Emerging issues: a planted spike stands out, thin and steady keys do not."""

from __future__ import annotations

import math

from httpx import AsyncClient

from app.metrics.emerging import poisson_upper_tail, rises
from tests.factories import Actors, assert_problem
from tests.metrics.helpers import API, ok


def test_the_poisson_tail_is_the_textbook_one() -> None:
    assert math.isclose(poisson_upper_tail(1, 1.0), 1 - math.exp(-1))
    assert math.isclose(poisson_upper_tail(2, 2.0), 1 - 3 * math.exp(-2))
    assert poisson_upper_tail(0, 5.0) == 1.0


def test_a_rise_needs_the_minimum_count_and_significance() -> None:
    ratio = 1 / 28  # a day against four weeks
    recent = {"billing": 10, "outage": 6, "login": 4}
    baseline = {"billing": 280, "outage": 0, "login": 0}
    found = rises("category", recent, baseline, ratio, min_count=5, alpha=0.001)
    # billing: 10 against 10 expected, steady; login: below the minimum count
    assert [(r.key, r.recent, r.baseline) for r in found] == [("outage", 6, 0)]
    assert found[0].expected == round(1 / 28, 3)


async def test_a_planted_spike_shows_with_its_tickets(client: AsyncClient, actors: Actors) -> None:
    supervisor, customer = await actors.supervisor(), await actors.customer()
    ids = []
    for n in range(6):
        body = {
            "subject": f"Router exploded again {n}",
            "description": "Smoke.",
            "category": "outage",
        }
        response = await client.post(f"{API}/tickets", json=body, headers=customer.headers)
        ids.append(ok(response, 201)["id"])
    body = {"subject": "Question", "description": "Hello.", "category": "billing"}
    ok(await client.post(f"{API}/tickets", json=body, headers=customer.headers), 201)

    report = ok(await client.get(f"{API}/insights/emerging", headers=supervisor.headers))
    found = {(i["kind"], i["key"]): i for i in report["items"]}
    outage = found[("category", "outage")]
    assert outage["recent"] == 6
    assert outage["baseline"] == 0
    assert outage["p_value"] < 0.001
    assert {e["ticket_id"] for e in outage["examples"]} <= set(ids)
    assert len(outage["examples"]) == 3
    assert ("category", "billing") not in found
    terms = {key for kind, key in found if kind == "term"}
    assert any(term.startswith("router") for term in terms), terms

    agent = await actors.agent()
    assert_problem(await client.get(f"{API}/insights/emerging", headers=agent.headers), 403)
