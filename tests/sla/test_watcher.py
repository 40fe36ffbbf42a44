"""The SLA watcher: a warning before a target, a breach after it, each raised once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from httpx import AsyncClient
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import NotificationDelivery, SlaAlert, Ticket
from app.sla.watcher import BATCH_SIZE, raise_all
from tests.factories import Actor, Actors

API = "/api/v1"
RATIO = 0.8
Maker = async_sessionmaker[AsyncSession]


async def _file(client: AsyncClient, agent: Actor, customer: Actor) -> int:
    response = await client.post(
        f"{API}/tickets",
        json={"subject": "Printer on fire", "description": "Smoke.", "requester_id": customer.id},
        headers=agent.headers,
    )
    assert response.status_code == 201, response.text
    ticket_id: int = response.json()["id"]
    return ticket_id


async def _set_clock(
    sessionmaker: Maker,
    ticket_id: int,
    *,
    age: timedelta,
    first: timedelta,
    resolve: timedelta = timedelta(days=1),
) -> None:
    """Make the ticket `age` old, with its targets that long after its creation."""
    created = datetime.now(UTC) - age
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(Ticket)
            .where(Ticket.id == ticket_id)
            .values(
                created_at=created,
                first_response_due_at=created + first,
                resolution_due_at=created + resolve,
                # As the SLA reactions store them on a 24/7 calendar: the warning when
                # RATIO of the target has gone.
                first_response_warn_at=created + first * RATIO,
                resolution_warn_at=created + resolve * RATIO,
            )
        )


async def _first_response_missed(sessionmaker: Maker, ticket_id: int) -> None:
    """Filed two hours ago, with an hour to the first response: missed an hour ago."""
    await _set_clock(sessionmaker, ticket_id, age=timedelta(hours=2), first=timedelta(hours=1))


async def _sla_events(client: AsyncClient, viewer: Actor, ticket_id: int) -> list[dict[str, Any]]:
    response = await client.get(f"{API}/tickets/{ticket_id}/events", headers=viewer.headers)
    assert response.status_code == 200, response.text
    return [e for e in response.json()["items"] if e["kind"].startswith("sla.")]


async def test_a_target_almost_due_warns_and_a_missed_one_breaches_once(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    agent, customer = await actors.agent(), await actors.customer()
    ticket_id = await _file(client, agent, customer)
    # 50 of 60 minutes to the first response gone: past the 80% mark, not yet due.
    hour = timedelta(hours=1)
    await _set_clock(sessionmaker, ticket_id, age=timedelta(minutes=50), first=hour)

    assert await raise_all(sessionmaker, RATIO) == 1
    # The warning, and the customer told before the answer time stated to them passes.
    warning, announced = await _sla_events(client, agent, ticket_id)
    assert announced["kind"] == "sla.delay_announced"
    assert announced["visibility"] == "public"
    assert warning["kind"] == "sla.warning"
    assert warning["visibility"] == "internal"
    assert warning["actor"] is None
    assert warning["data"]["target"] == "first_response"

    await _set_clock(sessionmaker, ticket_id, age=timedelta(minutes=70), first=hour)
    assert await raise_all(sessionmaker, RATIO) == 1
    assert await raise_all(sessionmaker, RATIO) == 0  # nothing twice

    kinds = [e["kind"] for e in await _sla_events(client, agent, ticket_id)]
    assert kinds == ["sla.warning", "sla.delay_announced", "sla.breached"]


async def test_a_target_with_most_of_its_time_left_is_left_alone(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    agent, customer = await actors.agent(), await actors.customer()
    ticket_id = await _file(client, agent, customer)  # medium priority: 4 h to respond
    # 2 h left: more than the last 20% (48 min) of those 4 hours.
    await _set_clock(
        sessionmaker, ticket_id, age=timedelta(minutes=10), first=timedelta(minutes=130)
    )

    assert await raise_all(sessionmaker, RATIO) == 0


async def test_customers_never_see_sla_events(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    agent, customer = await actors.agent(), await actors.customer()
    ticket_id = await _file(client, agent, customer)
    await _first_response_missed(sessionmaker, ticket_id)
    before = (await client.get(f"{API}/tickets/{ticket_id}", headers=customer.headers)).json()
    staff_before = (await client.get(f"{API}/tickets/{ticket_id}", headers=agent.headers)).json()

    assert await raise_all(sessionmaker, RATIO) == 1

    assert await _sla_events(client, customer, ticket_id) == []
    after = (await client.get(f"{API}/tickets/{ticket_id}", headers=customer.headers)).json()
    assert after["last_action"] == before["last_action"]
    staff_view = (await client.get(f"{API}/tickets/{ticket_id}", headers=agent.headers)).json()
    assert staff_view["last_action"]["kind"] == "sla.breached"
    assert staff_view["last_action"]["summary"].startswith("First response target missed (due ")
    assert staff_view["version"] == staff_before["version"]  # no field changed: If-Match holds
    # The customer's version and time do not move for what only staff see.
    assert (after["version"], after["updated_at"]) == (before["version"], before["updated_at"])
    assert after["sla"]["breached"] is None


async def test_an_answered_ticket_does_not_breach_its_first_response_target(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    agent, customer = await actors.agent(), await actors.customer()
    ticket_id = await _file(client, agent, customer)
    reply = await client.post(
        f"{API}/tickets/{ticket_id}/messages",
        json={"body": "On it.", "visibility": "public"},
        headers=agent.headers,
    )
    assert reply.status_code == 201, reply.text
    await _first_response_missed(sessionmaker, ticket_id)

    assert await raise_all(sessionmaker, RATIO) == 0
    assert await _sla_events(client, agent, ticket_id) == []


async def test_a_resolved_ticket_is_not_watched(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    agent, customer = await actors.agent(), await actors.customer()
    ticket_id = await _file(client, agent, customer)
    for status in ("open", "resolved"):
        moved = await client.post(
            f"{API}/tickets/{ticket_id}/status", json={"status": status}, headers=agent.headers
        )
        assert moved.status_code == 200, moved.text
    await _set_clock(sessionmaker, ticket_id, age=timedelta(days=3), first=timedelta(hours=1))

    assert await raise_all(sessionmaker, RATIO) == 0


async def test_the_owner_is_told_about_a_breach(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    supervisor, agent, customer = (
        await actors.supervisor(),
        await actors.agent(),
        await actors.customer(),
    )
    ticket_id = await _file(client, supervisor, customer)
    assigned = await client.post(
        f"{API}/tickets/{ticket_id}/assign",
        json={"owner_id": agent.id, "reason": "manual"},
        headers=supervisor.headers,
    )
    assert assigned.status_code == 200, assigned.text
    await _first_response_missed(sessionmaker, ticket_id)
    async with sessionmaker() as session:
        before = set(
            await session.scalars(
                select(NotificationDelivery.recipient_id).where(
                    NotificationDelivery.ticket_id == ticket_id
                )
            )
        )

    await raise_all(sessionmaker, RATIO)

    async with sessionmaker() as session:
        deliveries = list(
            await session.scalars(
                select(NotificationDelivery).where(NotificationDelivery.ticket_id == ticket_id)
            )
        )
    sla_notices = [
        notice
        for delivery in deliveries
        for notice in delivery.payload.get("notices", [])
        if str(notice.get("kind", "")).startswith("sla.")
    ]
    assert sla_notices, "the owner was not told"
    recipients = {d.recipient_id for d in deliveries if _mentions_sla(d)}
    assert recipients == {agent.id}
    assert customer.id in before  # the customer hears about other things, never this


def _mentions_sla(delivery: NotificationDelivery) -> bool:
    return any(
        str(notice.get("kind", "")).startswith("sla.")
        for notice in delivery.payload.get("notices", [])
    )


async def test_a_changed_priority_moves_the_target_and_it_is_watched_anew(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    agent, customer = await actors.agent(), await actors.customer()
    ticket_id = await _file(client, agent, customer)
    await _first_response_missed(sessionmaker, ticket_id)
    assert await raise_all(sessionmaker, RATIO) == 1
    # A new target (as a priority change sets), missed again: a breach of the new target.
    await _set_clock(sessionmaker, ticket_id, age=timedelta(hours=2), first=timedelta(minutes=90))

    assert await raise_all(sessionmaker, RATIO) == 1
    breaches = await _sla_events(client, agent, ticket_id)
    assert [e["kind"] for e in breaches] == ["sla.breached", "sla.breached"]
    assert breaches[0]["data"]["due_at"] != breaches[1]["data"]["due_at"]


async def test_watchers_racing_in_several_processes_raise_each_alert_once(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    agent, customer = await actors.agent(), await actors.customer()
    ids = [await _file(client, agent, customer) for _ in range(5)]
    for ticket_id in ids:
        await _first_response_missed(sessionmaker, ticket_id)

    counts = await asyncio.gather(*(raise_all(sessionmaker, RATIO) for _ in range(4)))

    assert sum(counts) == 5
    async with sessionmaker() as session:
        alerts = list(await session.scalars(select(SlaAlert)))
    assert sorted(a.ticket_id for a in alerts) == ids


async def test_more_alerts_than_one_batch_are_all_raised_in_one_pass(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    agent, customer = await actors.agent(), await actors.customer()
    first = await _file(client, agent, customer)
    # Copies of the ticket straight in the database: filing 100+ through the API is slow.
    async with sessionmaker() as session, session.begin():
        listed = ", ".join(c.name for c in Ticket.__table__.columns if c.name != "id")
        await session.execute(
            text(
                f"INSERT INTO tickets ({listed}) SELECT {listed} FROM tickets, "  # noqa: S608 - our own column names
                "generate_series(1, :n) WHERE id = :id"
            ),
            {"n": BATCH_SIZE + 20, "id": first},
        )
        await session.execute(
            update(Ticket).values(
                first_response_due_at=datetime.now(UTC) - timedelta(minutes=5),
                first_response_warn_at=datetime.now(UTC) - timedelta(minutes=10),
                resolution_due_at=datetime.now(UTC) + timedelta(days=30),
                resolution_warn_at=datetime.now(UTC) + timedelta(days=20),
            )
        )

    assert await raise_all(sessionmaker, RATIO) == BATCH_SIZE + 21
