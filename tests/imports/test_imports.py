"""History import: months of tickets with their original times, counted in every
figure, told to nobody, and imported once however often they are sent."""

from __future__ import annotations

import json
from typing import Any

from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import NotificationDelivery, TicketEvent
from tests.factories import Actor, Actors, assert_problem, make_team
from tests.metrics.helpers import API, ok
from tests.metrics.recompute import recount, stats

WINDOW = {"from": "2026-09-01", "to": "2026-12-01"}


def _history(agent: Actor, team_id: int) -> list[dict[str, Any]]:
    customer = {"email": "ada@customers.example", "name": "Ada"}
    return [
        {
            "external_id": "old-1",
            "subject": "Invoice twice",
            "description": "Charged twice.",
            "created_at": "2026-09-01T09:00:00Z",
            "requester": customer,
            "category": "billing",
            "team_id": team_id,
            "steps": [
                {"at": "2026-09-01T09:10:00Z", "type": "assign", "owner": agent.email},
                {
                    "at": "2026-09-01T10:00:00Z",
                    "type": "message",
                    "by": agent.email,
                    "body": "Refunded.",
                },
                {
                    "at": "2026-09-01T12:00:00Z",
                    "type": "status",
                    "status": "resolved",
                    "by": agent.email,
                },
                {"at": "2026-09-01T13:00:00Z", "type": "rating", "rating": 5},
            ],
        },
        {
            "external_id": "old-2",
            "subject": "Login broken",
            "description": "Cannot log in.",
            "created_at": "2026-10-05T08:00:00Z",
            "requester": customer,
            "category": "tech",
            "team_id": team_id,
            "steps": [
                {"at": "2026-10-05T08:30:00Z", "type": "assign", "owner": agent.email},
                {
                    "at": "2026-10-05T09:00:00Z",
                    "type": "message",
                    "by": agent.email,
                    "body": "Try again?",
                },
                {"at": "2026-10-05T10:00:00Z", "type": "message", "body": "Still broken."},
                {
                    "at": "2026-10-05T12:00:00Z",
                    "type": "message",
                    "by": agent.email,
                    "body": "Fixed.",
                },
                {
                    "at": "2026-10-06T08:00:00Z",
                    "type": "status",
                    "status": "resolved",
                    "by": agent.email,
                },
                {"at": "2026-10-07T08:00:00Z", "type": "status", "status": "open"},
                {
                    "at": "2026-10-08T08:00:00Z",
                    "type": "status",
                    "status": "resolved",
                    "by": agent.email,
                },
                {"at": "2026-10-08T09:00:00Z", "type": "rating", "rating": 2},
            ],
        },
        {
            "external_id": "old-3",
            "subject": "Rude answer",
            "description": "Unfriendly.",
            "created_at": "2026-11-10T10:00:00Z",
            "requester": customer,
            "category": "tech",
            "steps": [{"at": "2026-11-10T11:00:00Z", "type": "complaint", "body": "Rude agent."}],
        },
    ]


async def test_imported_history_counts_in_every_figure_and_tells_nobody(
    client: AsyncClient, actors: Actors, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    admin, agent = await actors.admin(), await actors.agent()
    team = await make_team(sessionmaker, member_ids=[agent.id])
    history = _history(agent, team)
    result = ok(
        await client.post(
            f"{API}/imports/tickets", json={"tickets": history}, headers=admin.headers
        )
    )
    assert result["created"] == 3

    body = ok(await client.get(f"{API}/metrics/summary", params=WINDOW, headers=admin.headers))
    kpis = body["kpis"]
    assert kpis["created"] == 3
    assert kpis["resolved"] == 3
    assert kpis["fcr"] == {"count": 1, "of": 2, "rate": 0.5}
    assert kpis["reopen"] == {"count": 1, "of": 2, "rate": 0.5}
    assert kpis["csat"]["answered"] == 2
    assert kpis["csat"]["rate"] == 0.5
    assert kpis["first_response_time"]["count"] == 2
    assert kpis["first_response_time"]["mean"] == 3600
    assert kpis["next_response_time"]["mean"] == 7200
    assert kpis["time_to_resolve"]["mean"] == (3 * 3600 + 24 * 3600) / 2
    assert kpis["complaints"] == 1
    assert body["backlog_at_end"] == 1
    async with sessionmaker() as session:
        truth = await recount(session)
        deliveries = await session.scalar(select(func.count()).select_from(NotificationDelivery))
        marked = await session.scalar(
            select(func.count()).where(TicketEvent.data["imported"].as_boolean())
        )
        events = await session.scalar(select(func.count()).select_from(TicketEvent))
    assert kpis["time_to_resolve"] == stats(truth.ttr)
    assert kpis["first_response_time"] == stats(truth.frt)
    assert deliveries == 0
    assert marked == events == 3 + 4 + 8 + 1

    months = ok(
        await client.get(
            f"{API}/metrics/timeseries",
            params={**WINDOW, "metric": "created", "interval": "month"},
            headers=admin.headers,
        )
    )
    assert [(p["at"][:7], p["value"]) for p in months["points"]] == [
        ("2026-09", 1.0),
        ("2026-10", 1.0),
        ("2026-11", 1.0),
    ]
    agents = ok(await client.get(f"{API}/metrics/agents", params=WINDOW, headers=admin.headers))
    [row] = [r for r in agents["agents"] if r["agent_id"] == agent.id]
    assert row["handled"] == 3

    again = "\n".join(json.dumps(t) for t in history)
    repeated = ok(
        await client.post(
            f"{API}/imports/tickets",
            content=again,
            headers={**admin.headers, "Content-Type": "application/x-ndjson"},
        )
    )
    assert (repeated["created"], repeated["unchanged"]) == (0, 3)
    assert [t["ticket_id"] for t in repeated["tickets"]] == [
        t["ticket_id"] for t in result["tickets"]
    ]
    same = ok(await client.get(f"{API}/metrics/summary", params=WINDOW, headers=admin.headers))
    assert same["kpis"] == kpis


async def test_only_admins_import_and_bad_history_changes_nothing(
    client: AsyncClient, actors: Actors, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    admin, supervisor, agent = await actors.admin(), await actors.supervisor(), await actors.agent()
    history = _history(agent, await make_team(sessionmaker))
    denied = await client.post(
        f"{API}/imports/tickets", json={"tickets": history}, headers=supervisor.headers
    )
    assert_problem(denied, 403)
    history[1]["steps"][0]["owner"] = "nobody@example.com"
    bad = await client.post(
        f"{API}/imports/tickets", json={"tickets": history}, headers=admin.headers
    )
    assert_problem(bad, 422)
    history = _history(agent, 999_999)
    bad = await client.post(
        f"{API}/imports/tickets", json={"tickets": history}, headers=admin.headers
    )
    assert_problem(bad, 422)
    assert_problem(
        await client.post(f"{API}/imports/tickets", json={"tickets": []}, headers=admin.headers),
        422,
    )
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(TicketEvent)) == 0


async def test_times_are_rfc_3339_not_numbers(
    client: AsyncClient, actors: Actors, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    admin, agent = await actors.admin(), await actors.agent()
    [ticket, *_] = _history(agent, await make_team(sessionmaker))
    ticket["created_at"] = 0
    response = await client.post(
        f"{API}/imports/tickets", json={"tickets": [ticket]}, headers=admin.headers
    )
    assert_problem(response, 422)
