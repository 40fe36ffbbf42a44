"""A history import is not news: no notification wakes a hub, no subscriber of
`queue:all` gets its thousands of events, live or when resuming, and every other event
of the same moments still arrives."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from app.db import asyncpg_connect_args
from app.live.hub import EVENTS_CHANNEL
from tests.factories import Actor, Actors
from tests.live.conftest import LiveServer, live_client

API = "/api/v1"
IMPORTED_TICKETS = 200


def _history(agent: Actor, prefix: str) -> list[dict[str, Any]]:
    """Tickets of five events each: filed, assigned, answered, resolved, rated."""
    tickets = []
    for n in range(IMPORTED_TICKETS):
        day = f"2026-10-{1 + n % 28:02d}"
        tickets.append(
            {
                "external_id": f"{prefix}-{n}",
                "subject": f"Old case {n}",
                "description": "From the old desk.",
                "created_at": f"{day}T08:00:00Z",
                "requester": {"email": f"c{n % 7}@old.example"},
                "steps": [
                    {"at": f"{day}T08:01:00Z", "type": "assign", "owner": agent.email},
                    {"at": f"{day}T09:00:00Z", "type": "message", "by": agent.email, "body": "Ok"},
                    {
                        "at": f"{day}T10:00:00Z",
                        "type": "status",
                        "status": "resolved",
                        "by": agent.email,
                    },
                    {"at": f"{day}T11:00:00Z", "type": "rating", "rating": 1 + n % 5},
                ],
            }
        )
    return tickets


async def _import(actors: Actors, admin: Actor, agent: Actor, prefix: str) -> set[int]:
    response = await actors.client.post(
        f"{API}/imports/tickets",
        json={"tickets": _history(agent, prefix)},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["created"] == IMPORTED_TICKETS
    return {t["ticket_id"] for t in response.json()["tickets"]}


async def _file(actors: Actors, customer: Actor, subject: str) -> int:
    response = await actors.client.post(
        f"{API}/tickets", json={"subject": subject, "description": "d"}, headers=customer.headers
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _created(ticket_id: int) -> Any:
    return lambda f: f["event"]["kind"] == "ticket.created" and f["event"]["ticket_id"] == ticket_id


async def test_an_import_reaches_no_subscriber_and_a_change_right_after_does(
    live_server: LiveServer, actors: Actors, database_url: str
) -> None:
    admin, agent, customer = await actors.admin(), await actors.agent(), await actors.customer()
    notices: list[str] = []
    listener = await asyncpg.connect(**asyncpg_connect_args(database_url))
    await listener.add_listener(EVENTS_CHANNEL, lambda *args: notices.append(args[-1]))
    try:
        async with live_client(live_server, agent.token) as live:
            await live.subscribe("queue:all")
            imported = await _import(actors, admin, agent, "quiet")
            # Subscribed to an imported ticket too: its old events are not replayed live.
            await live.subscribe(f"ticket:{min(imported)}")
            after = await _file(actors, customer, "new after the import")
            frames = await live.events_until(_created(after), within=10)
            await live.no_event_within(0.5)
        await asyncio.sleep(0.1)  # any notification is delivered at commit, long before
    finally:
        await listener.close()
    assert all(f["event"]["ticket_id"] == after for f in frames), [
        (f["event"]["ticket_id"], f["event"]["kind"]) for f in frames
    ]
    # The trigger announced the live ticket's events and none of the thousand imported.
    assert notices
    assert len(notices) == len(frames)


async def test_a_resume_across_an_import_gets_every_other_event_and_no_imported_one(
    live_server: LiveServer, actors: Actors
) -> None:
    admin, agent, customer = await actors.admin(), await actors.agent(), await actors.customer()
    async with live_client(live_server, agent.token) as live:
        await live.subscribe("queue:all")
        seen = await _file(actors, customer, "seen before leaving")
        cursor = (await live.events_until(_created(seen)))[-1]["cursor"]
    # While the client is away: a live ticket, an import, another live ticket.
    before = await _file(actors, customer, "filed while away, before the import")
    imported = await _import(actors, admin, agent, "away")
    after = await _file(actors, customer, "filed while away, after the import")
    async with live_client(live_server, agent.token) as live:
        await live.subscribe("queue:all", since=cursor)
        frames = await live.events_until(_created(after), within=10)
        await live.no_event_within(0.5)
    tickets = [f["event"]["ticket_id"] for f in frames]
    assert before in tickets
    assert not set(tickets) & imported
    assert not [f for f in frames if f["event"]["data"].get("imported")]
