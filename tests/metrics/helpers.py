"""A small desk history with known answers, made through the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from httpx import AsyncClient, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import Actor, Actors, make_team

API = "/api/v1"
JSON = dict[str, Any]


def ok(response: Response, status: int = 200) -> JSON:
    assert response.status_code == status, response.text
    body: JSON = response.json()
    return body


@dataclass
class Desk:
    supervisor: Actor
    first: Actor  # agent of team one
    second: Actor  # agent of team two
    customer: Actor
    team_one: int
    team_two: int
    tickets: list[int]


async def _file(client: AsyncClient, desk_customer: Actor, **fields: Any) -> int:
    body = {"subject": "Invoice wrong", "description": "Twice charged.", **fields}
    return int(
        ok(await client.post(f"{API}/tickets", json=body, headers=desk_customer.headers), 201)["id"]
    )


async def _as(client: AsyncClient, actor: Actor, method: str, path: str, body: JSON) -> JSON:
    response = await client.request(method, f"{API}{path}", json=body, headers=actor.headers)
    return ok(response, 201 if response.status_code == 201 else 200)


async def history(
    client: AsyncClient, actors: Actors, maker: async_sessionmaker[AsyncSession]
) -> Desk:
    """Four tickets:

    1. team one, billing: one reply, resolved, rated 5 (first-contact resolution);
    2. team one, billing: two replies around a customer message, resolved, rated 2
       (a low rating reopens the ticket: app/feedback);
    3. team two, tech: one reply, resolved, reopened by the customer, handed over to
       the first agent (reason manual): open;
    4. team two, tech: untouched, with a complaint: open.
    """
    supervisor = await actors.supervisor()
    first, second = await actors.agent(), await actors.agent()
    customer = await actors.customer()
    team_one = await make_team(maker, member_ids=[first.id])
    team_two = await make_team(maker, member_ids=[second.id])

    async def reply(actor: Actor, ticket: int, text: str = "On it.") -> None:
        await _as(
            client,
            actor,
            "POST",
            f"/tickets/{ticket}/messages",
            {"body": text, "visibility": "public"},
        )

    async def status(actor: Actor, ticket: int, to: str) -> None:
        await _as(client, actor, "POST", f"/tickets/{ticket}/status", {"status": to})

    async def assign(actor: Actor, ticket: int, owner: int) -> None:
        await _as(
            client,
            actor,
            "POST",
            f"/tickets/{ticket}/assign",
            {"owner_id": owner, "reason": "manual"},
        )

    async def patch(ticket: int, **fields: Any) -> None:
        await _as(client, supervisor, "PATCH", f"/tickets/{ticket}", fields)

    tickets = []
    for team, category in (
        (team_one, "billing"),
        (team_one, "billing"),
        (team_two, "tech"),
        (team_two, "tech"),
    ):
        ticket = await _file(client, customer, category=category)
        await patch(ticket, team_id=team)
        tickets.append(ticket)
    one, two, three, four = tickets

    await assign(first, one, first.id)
    await reply(first, one)
    await status(first, one, "resolved")
    await _as(client, customer, "POST", f"/tickets/{one}/satisfaction", {"rating": 5})

    await assign(first, two, first.id)
    await reply(first, two)
    await reply(customer, two, "Still wrong.")
    await reply(first, two, "Fixed now.")
    await status(first, two, "resolved")
    await _as(client, customer, "POST", f"/tickets/{two}/satisfaction", {"rating": 2})

    await assign(second, three, second.id)
    await reply(second, three)
    await status(second, three, "resolved")
    await reply(customer, three, "Not fixed.")  # reopens it
    await assign(supervisor, three, first.id)

    await _as(
        client,
        customer,
        "POST",
        "/feedback",
        {"kind": "complaint", "body": "Nobody answers.", "ticket_id": four},
    )
    return Desk(supervisor, first, second, customer, team_one, team_two, tickets)


async def assert_figures_match_recount(
    client: AsyncClient,
    headers: dict[str, str],
    maker: async_sessionmaker[AsyncSession],
    **params: str,
) -> JSON:
    """Every KPI of the summary (over `params`' window) against the plain recount of the
    raw timeline (tests/metrics/recompute.py); the summary's kpis."""
    from tests.metrics.recompute import recount, stats

    body = ok(await client.get(f"{API}/metrics/summary", params=params, headers=headers))
    async with maker() as session:
        truth = await recount(session)
    kpis: JSON = body["kpis"]
    for name in ("created", "resolved", "first_resolved", "reopens", "handovers", "complaints"):
        assert kpis[name] == getattr(truth, name), name
    assert kpis["fcr"]["count"] == truth.fcr
    assert kpis["reopen"]["count"] == truth.reopened
    assert kpis["csat"]["answered"] == truth.csat_answered
    assert kpis["csat"]["positive"] == truth.csat_positive
    assert kpis["csat"]["surveys_sent"] == truth.surveys
    assert kpis["sla"]["compliant"] == truth.sla_ok
    assert kpis["sla"]["breaches"] == truth.breaches
    assert kpis["first_response_time"] == stats(truth.frt)
    assert kpis["next_response_time"] == stats(truth.nrt)
    assert kpis["time_to_resolve"] == stats(truth.ttr)
    assert body["backlog_at_end"] == truth.backlog
    assert body["handovers_by_reason"] == dict(truth.handovers_by_reason)
    return kpis
