"""The acceptance scenario: a history with known answers, imported through the API
(three months of tickets across teams, channels and categories, with reopenings,
one-touch resolutions, ratings, complaints and a planted spike), then every KPI of the
summary and of the agent and team tables compared exactly with an independent recount
of the raw events AND with the answers known from the generated history."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import Actor, Actors, make_team
from tests.imports.desk_history import SPIKE_CATEGORY, STEADY, generate
from tests.metrics.helpers import API, ok
from tests.metrics.recompute import Recount, recount_by, stats

BATCHES = 4


def _share(n: int, of: int) -> float | None:
    return None if of == 0 else round(n / of, 4)


def kpis(r: Recount) -> dict[str, Any]:
    """The `kpis` object the API should give for these counts (docs/metrics.md)."""
    return {
        "created": r.created,
        "resolved": r.resolved,
        "first_resolved": r.first_resolved,
        "first_response_time": stats(r.frt),
        "next_response_time": stats(r.nrt),
        "time_to_resolve": stats(r.ttr),
        "fcr": {"count": r.fcr, "of": r.first_resolved, "rate": _share(r.fcr, r.first_resolved)},
        "reopen": {
            "count": r.reopened,
            "of": r.first_resolved,
            "rate": _share(r.reopened, r.first_resolved),
        },
        "reopens": r.reopens,
        "csat": {
            "answered": r.csat_answered,
            "positive": r.csat_positive,
            "rate": _share(r.csat_positive, r.csat_answered),
            "surveys_sent": r.surveys,
            "response_rate": _share(r.csat_answered, r.surveys),
        },
        "sla": {
            "resolved": r.first_resolved,
            "compliant": r.sla_ok,
            "compliance": _share(r.sla_ok, r.first_resolved),
            "breaches": r.breaches,
        },
        "handovers": r.handovers,
        "complaints": r.complaints,
        "suggestions": r.suggestions,
    }


def _ndjson(tickets: list[dict[str, Any]]) -> str:
    return "\n".join(json.dumps(t) for t in tickets) + "\n"


async def _import(client: AsyncClient, admin: Actor, tickets: list[dict[str, Any]]) -> Any:
    return ok(
        await client.post(
            f"{API}/imports/tickets",
            content=_ndjson(tickets),
            headers={**admin.headers, "Content-Type": "application/x-ndjson"},
        )
    )


async def test_an_imported_history_gives_its_known_answers_and_its_recount(
    client: AsyncClient, actors: Actors, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    admin, supervisor = await actors.admin(), await actors.supervisor()
    teams: dict[int, list[Actor]] = {}
    for _ in range(3):
        members = [await actors.agent(), await actors.agent()]
        teams[await make_team(sessionmaker, member_ids=[a.id for a in members])] = members
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    history = generate(now, teams)
    known = history.known.figures
    # The history really has what the scenario asks for.
    assert known.total.fcr > 0
    assert known.total.reopened > 0
    assert known.total.csat_answered > 0
    assert known.total.complaints > 0
    assert known.total.nrt

    size = -(-len(history.tickets) // BATCHES)
    batches = [history.tickets[i : i + size] for i in range(0, len(history.tickets), size)]
    for batch in batches:
        assert (await _import(client, admin, batch))["created"] == len(batch)

    window = {
        "from": (history.start - timedelta(days=1)).date().isoformat(),
        "to": (now + timedelta(days=1)).date().isoformat(),
    }
    headers = supervisor.headers

    async def figures() -> tuple[Any, Any, Any]:
        summary = ok(await client.get(f"{API}/metrics/summary", params=window, headers=headers))
        agents = ok(await client.get(f"{API}/metrics/agents", params=window, headers=headers))
        team_table = ok(await client.get(f"{API}/metrics/teams", params=window, headers=headers))
        return summary, agents, team_table

    summary, agents, team_table = await figures()
    async with sessionmaker() as session:
        recounted = await recount_by(session)

    # The desk's figures, the recount of the raw events and the known answers: all equal.
    assert kpis(recounted.total) == kpis(known.total)
    assert summary["kpis"] == kpis(known.total)
    assert summary["backlog_at_end"] == recounted.total.backlog == known.total.backlog
    assert summary["backlog_at_start"] == 0
    assert (
        summary["handovers_by_reason"]
        == dict(recounted.total.handovers_by_reason)
        == history.known.handovers_by_reason
    )
    assert (
        summary["complaints_by_category"]
        == dict(recounted.total.complaints_by_category)
        == history.known.complaints_by_category
    )
    assert (
        summary["suggestions_by_category"]
        == dict(recounted.total.suggestions_by_category)
        == history.known.suggestions_by_category
    )

    staff = {a.id for members in teams.values() for a in members}
    rows = {row["agent_id"]: row for row in agents["agents"]}
    assert set(rows) == staff
    for agent_id in staff:
        row = rows[agent_id]
        assert kpis(recounted.agents[agent_id]) == kpis(known.agents[agent_id]), agent_id
        assert row["kpis"] == kpis(known.agents[agent_id]), agent_id
        assert row["handled"] == recounted.total.handled[agent_id] == known.total.handled[agent_id]
        assert row["load"] == recounted.agents[agent_id].backlog == known.agents[agent_id].backlog

    team_rows = {row["team_id"]: row for row in team_table["teams"]}
    assert set(teams) <= set(team_rows)  # and the desk's own teams, which had nothing
    assert all(row["kpis"] == kpis(Recount()) for t, row in team_rows.items() if t not in teams)
    for team_id in teams:
        row = team_rows[team_id]
        assert kpis(recounted.teams[team_id]) == kpis(known.teams[team_id]), team_id
        assert row["kpis"] == kpis(known.teams[team_id]), team_id
        assert row["load"] == recounted.teams[team_id].backlog == known.teams[team_id].backlog

    # Sent again, a batch changes nothing: the same tickets, the same figures.
    again = await _import(client, admin, batches[1])
    assert (again["created"], again["unchanged"]) == (0, len(batches[1]))
    assert await figures() == (summary, agents, team_table)

    # The planted spike stands out; the steady categories and their words do not.
    report = ok(await client.get(f"{API}/insights/emerging", headers=headers))
    found = {(item["kind"], item["key"]): item for item in report["items"]}
    spike = found[("category", SPIKE_CATEGORY)]
    assert (spike["recent"], spike["baseline"]) == (len(history.spike_external_ids), 0)
    assert ("term", "router") in found
    assert not [key for kind, key in found if kind == "category" and key in STEADY]
    steady_words = {w.lower() for subject, _ in STEADY.values() for w in subject.split()}
    assert not [key for kind, key in found if kind == "term" and key in steady_words]
