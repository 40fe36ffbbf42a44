"""The portal view: the contact's name, the status, the last action and when, and why the
case last changed hands, over REST and on every live event."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from app.continuity.scheduler import ContinuityScheduler
from app.models import Role
from tests.continuity.helpers import (
    assign,
    away,
    day_words,
    days_from_now,
    file_ticket,
    get_ticket,
    write,
)
from tests.factories import Actors
from tests.live.conftest import LiveServer, live_client, serve


@pytest.fixture
async def server(app: FastAPI) -> AsyncIterator[LiveServer]:
    async with serve(app) as running:
        yield running


async def test_rest_shows_who_handles_it_what_happened_last_and_why(
    client: AsyncClient, actors: Actors, scheduler: ContinuityScheduler
) -> None:
    customer = await actors.customer()
    marco = await actors.make(Role.AGENT, name="Marco")
    anna = await actors.make(Role.AGENT, name="Anna")
    ticket = await file_ticket(client, customer)
    await assign(client, marco, ticket["id"], marco.id)
    await write(client, marco, ticket["id"], "On it")
    await write(client, marco, ticket["id"], "Customer is VIP", "internal")
    back = days_from_now(6)
    await away(client, marco, marco.id, ends_at=back, backup_id=anna.id)

    await scheduler.run_once()

    seen = await get_ticket(client, customer, ticket["id"])
    assert seen["owner"]["name"] == "Anna"
    assert seen["status"] == "open"
    assert seen["last_action"]["kind"] == "ticket.owner_changed"
    assert seen["last_action"]["at"]
    expected = f"Marco is away until {day_words(back)}; Anna is now handling this request"
    assert seen["last_action"]["summary"] == expected
    assert seen["last_owner_change"]["reason"] == "unavailability"
    assert seen["last_owner_change"]["summary"] == expected
    assert seen["last_owner_change"]["at"] == seen["last_action"]["at"]


async def test_every_live_event_carries_the_portal_view(
    client: AsyncClient, actors: Actors, scheduler: ContinuityScheduler, server: LiveServer
) -> None:
    customer = await actors.customer()
    marco = await actors.make(Role.AGENT, name="Marco")
    anna = await actors.make(Role.AGENT, name="Anna")
    ticket = await file_ticket(client, customer)
    await assign(client, marco, ticket["id"], marco.id)
    await away(
        client, marco, marco.id, reason="sick_leave", ends_at=days_from_now(2), backup_id=anna.id
    )

    async with live_client(server, customer.token) as live:
        await live.subscribe(f"ticket:{ticket['id']}")
        await scheduler.run_once()
        [frame] = await live.events_until(lambda f: f["event"]["kind"] == "ticket.owner_changed")

    # Why Marco is away is his business: the customer is told until when, never why.
    assert frame["event"]["data"]["absence"]["reason"] == "away"
    assert "sick" not in str(frame)
    view = frame["ticket"]
    assert view["id"] == ticket["id"]
    assert view["status"] == "new"
    assert view["owner"] == {"id": anna.id, "name": "Anna"}
    assert view["last_action"]["kind"] == "ticket.owner_changed"
    assert view["last_owner_change"]["reason"] == "unavailability"
    assert view["last_owner_change"]["summary"].startswith("Marco is away until")
    assert "sick" not in str(frame)
