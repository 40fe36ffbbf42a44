"""Threshold alerts: a rule crossed and uncrossed while a WebSocket and the outbox watch."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.alerts.evaluate import evaluate_all
from app.models import NotificationDelivery
from tests.factories import Actors, assert_problem
from tests.live.conftest import LiveServer, live_client, serve
from tests.metrics.helpers import API, history, ok


@pytest.fixture
async def live_server(app: FastAPI) -> AsyncIterator[LiveServer]:
    async with serve(app) as server:
        yield server


async def test_a_rule_fires_and_resolves_on_the_socket_in_the_history_and_the_outbox(
    client: AsyncClient,
    actors: Actors,
    sessionmaker: async_sessionmaker[AsyncSession],
    live_server: LiveServer,
) -> None:
    supervisor, customer = await actors.supervisor(), await actors.customer()
    rule = ok(
        await client.post(
            f"{API}/alert-rules",
            json={
                "name": "Any complaint",
                "metric": "complaints",
                "window_minutes": 60,
                "comparison": "gte",
                "threshold": 1,
                "cooldown_minutes": 1,
                "recipient_ids": [supervisor.id],
            },
            headers=supervisor.headers,
        ),
        201,
    )
    assert await evaluate_all(sessionmaker) == 0  # nothing to complain about yet

    async with live_client(live_server, supervisor.token) as socket:
        await socket.subscribe("alerts")
        ok(
            await client.post(
                f"{API}/feedback",
                json={"kind": "complaint", "body": "Nobody answers."},
                headers=customer.headers,
            ),
            201,
        )
        assert await evaluate_all(sessionmaker) == 1
        fired = await socket.receive_type("alert")
        assert fired["event"]["kind"] == "alert.fired"
        assert fired["event"]["data"]["rule_id"] == rule["id"]
        assert fired["event"]["data"]["value"] == 1.0

        assert await evaluate_all(sessionmaker) == 0  # still firing: said once
        later = datetime.now(UTC) + timedelta(hours=3)  # the complaint is out of the window
        assert await evaluate_all(sessionmaker, later) == 1
        resolved = await socket.receive_type("alert")
        assert resolved["event"]["kind"] == "alert.resolved"

    history = ok(await client.get(f"{API}/alerts", headers=supervisor.headers))
    assert [a["kind"] for a in history["items"]] == ["alert.resolved", "alert.fired"]
    state = ok(await client.get(f"{API}/alert-rules/{rule['id']}", headers=supervisor.headers))
    assert state["firing"] is False
    assert state["last_value"] == 0.0

    async with sessionmaker() as session:
        deliveries = (
            await session.scalars(
                select(NotificationDelivery).where(
                    NotificationDelivery.recipient_id == supervisor.id
                )
            )
        ).all()
    kinds = [n["kind"] for d in deliveries for n in d.payload.get("notices", [])]
    assert "alert.fired" in kinds


async def test_the_cooldown_holds_back_a_second_firing(
    client: AsyncClient, actors: Actors, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    supervisor, customer = await actors.supervisor(), await actors.customer()
    ok(
        await client.post(
            f"{API}/alert-rules",
            json={
                "name": "New tickets",
                "metric": "created",
                "comparison": "gte",
                "threshold": 1,
                "cooldown_minutes": 600,
            },
            headers=supervisor.headers,
        ),
        201,
    )
    body = {"subject": "Help", "description": "Please."}
    ok(await client.post(f"{API}/tickets", json=body, headers=customer.headers), 201)
    now = datetime.now(UTC)
    assert await evaluate_all(sessionmaker, now) == 1
    assert await evaluate_all(sessionmaker, now + timedelta(hours=3)) == 1  # resolved
    ok(await client.post(f"{API}/tickets", json=body, headers=customer.headers), 201)
    assert await evaluate_all(sessionmaker, now + timedelta(hours=3)) == 0  # cooling down


async def test_only_supervisors_and_admins_manage_rules(
    client: AsyncClient, actors: Actors
) -> None:
    agent, customer = await actors.agent(), await actors.customer()
    rule = {"name": "x", "metric": "csat", "comparison": "lt", "threshold": 0.5}
    for actor in (agent, customer):
        assert_problem(
            await client.post(f"{API}/alert-rules", json=rule, headers=actor.headers), 403
        )
        assert_problem(await client.get(f"{API}/alert-rules", headers=actor.headers), 403)
    assert_problem(await client.get(f"{API}/alerts", headers=customer.headers), 403)
    ok(await client.get(f"{API}/alerts", headers=agent.headers))

    admin = await actors.admin()
    bad = {**rule, "filter_dimension": "team"}
    assert_problem(await client.post(f"{API}/alert-rules", json=bad, headers=admin.headers), 422)
    bad = {**rule, "recipient_ids": [customer.id]}
    assert_problem(await client.post(f"{API}/alert-rules", json=bad, headers=admin.headers), 422)
    made = ok(await client.post(f"{API}/alert-rules", json=rule, headers=admin.headers), 201)
    changed = ok(
        await client.patch(
            f"{API}/alert-rules/{made['id']}", json={"threshold": 0.6}, headers=admin.headers
        )
    )
    assert changed["threshold"] == 0.6
    deleted = await client.delete(f"{API}/alert-rules/{made['id']}", headers=admin.headers)
    assert deleted.status_code == 204
    assert_problem(await client.get(f"{API}/alert-rules/{made['id']}", headers=admin.headers), 404)


async def test_unassigned_rules_count_each_their_own_unowned_tickets_in_one_pass(
    client: AsyncClient, actors: Actors, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    # Of the history's four tickets only the fourth (team two, "tech") is open and unowned.
    desk = await history(client, actors, sessionmaker)
    supervisor = desk.supervisor

    async def rule(window: int, dimension: str | None = None, value: str | None = None) -> int:
        body: dict[str, object] = {
            "name": f"Unassigned {dimension} {value} {window}",
            "metric": "unassigned_waiting",
            "window_minutes": window,
            "comparison": "gte",
            "threshold": 1,
        }
        if dimension:
            body |= {"filter_dimension": dimension, "filter_value": value}
        made = ok(
            await client.post(f"{API}/alert-rules", json=body, headers=supervisor.headers), 201
        )
        return int(made["id"])

    expected = {
        await rule(60): 1.0,
        await rule(60, "team", str(desk.team_two)): 1.0,
        await rule(60, "team", str(desk.team_one)): 0.0,
        await rule(60, "category", "tech"): 1.0,
        await rule(60, "agent", str(desk.first.id)): 0.0,
        await rule(240): 0.0,  # not waiting that long yet
    }
    in_two_hours = datetime.now(UTC) + timedelta(hours=2)
    assert await evaluate_all(sessionmaker, in_two_hours) == 3
    for rule_id, value in expected.items():
        state = ok(await client.get(f"{API}/alert-rules/{rule_id}", headers=supervisor.headers))
        assert (state["last_value"], state["firing"]) == (value, value >= 1), state["name"]

    ticket = desk.tickets[3]
    assigned = await client.post(
        f"{API}/tickets/{ticket}/assign",
        json={"owner_id": desk.second.id, "reason": "manual"},
        headers=supervisor.headers,
    )
    ok(assigned)
    assert await evaluate_all(sessionmaker, in_two_hours) == 3  # all three resolve
