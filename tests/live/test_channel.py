"""The live channel: authentication, topics, visibility, resume and presence."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from httpx import AsyncClient
from websockets.exceptions import ConnectionClosed

from tests.factories import Actor, Actors
from tests.live.conftest import LiveServer, live_client


async def _file(client: AsyncClient, customer: Actor, subject: str = "Help") -> dict[str, Any]:
    response = await client.post(
        "/api/v1/tickets",
        json={"subject": subject, "description": "details"},
        headers=customer.headers,
    )
    assert response.status_code == 201, response.text
    ticket: dict[str, Any] = response.json()
    return ticket


def _is(kind: str, ticket_id: int | None = None) -> Any:
    return lambda frame: (
        frame["event"]["kind"] == kind
        and (ticket_id is None or frame["event"]["ticket_id"] == ticket_id)
    )


async def test_a_bad_token_is_closed_with_4401(live_server: LiveServer) -> None:
    async with live_client(live_server, None) as client:
        await client.send({"type": "auth", "token": "hd_not-a-token"})
        with pytest.raises(ConnectionClosed) as closed:
            await client.receive()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401


async def test_a_first_frame_that_is_not_auth_is_closed_with_4401(live_server: LiveServer) -> None:
    async with live_client(live_server, None) as client:
        await client.send({"type": "subscribe", "topics": ["queue:all"]})
        with pytest.raises(ConnectionClosed) as closed:
            await client.receive()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401


async def test_agents_on_the_queue_see_a_new_ticket_arrive(
    live_server: LiveServer, client: AsyncClient, actors: Actors
) -> None:
    agent, customer = await actors.agent(), await actors.customer()
    async with live_client(live_server, agent.token) as live:
        subscribed = await live.subscribe("queue:all")
        assert subscribed["topics"] == ["queue:all"]
        assert subscribed["cursor"]
        ticket = await _file(client, customer)
        [frame] = await live.events_until(_is("ticket.created", ticket["id"]))
    event = frame["event"]
    assert event["actor"] == {"id": customer.id, "name": customer.name, "role": "customer"}
    assert event["ticket_version"] == 1
    assert event["visibility"] == "public"
    assert frame["cursor"]


async def test_customers_get_their_public_events_and_never_an_internal_note(
    live_server: LiveServer, client: AsyncClient, actors: Actors
) -> None:
    agent, customer = await actors.agent(), await actors.customer()
    ticket = await _file(client, customer)
    url = f"/api/v1/tickets/{ticket['id']}"
    async with live_client(live_server, customer.token) as live:
        await live.subscribe("mine")
        note = {"body": "VIP, be careful", "visibility": "internal"}
        assert (await client.post(f"{url}/messages", json=note, headers=agent.headers)).is_success
        assign = {"owner_id": agent.id, "reason": "escalation", "note": "internal handover note"}
        assert (await client.post(f"{url}/assign", json=assign, headers=agent.headers)).is_success
        reply = {"body": "We are on it"}
        assert (await client.post(f"{url}/messages", json=reply, headers=agent.headers)).is_success
        frames = await live.events_until(_is("ticket.status_changed"))
    # The filing committed just before the subscription and may still arrive with the
    # hub's next batch: the protocol allows events to be sent again, never skipped.
    frames = [frame for frame in frames if frame["event"]["kind"] != "ticket.created"]
    kinds = [frame["event"]["kind"] for frame in frames]
    assert kinds == ["ticket.owner_changed", "message.created", "ticket.status_changed"]
    assert all(frame["event"]["visibility"] == "public" for frame in frames)
    owner_change = frames[0]["event"]["data"]
    assert owner_change["reason"] == "escalation"
    assert "note" not in owner_change
    assert owner_change["to"] == {"id": agent.id, "name": agent.name}


@pytest.mark.parametrize("topic", ["queue:all", "owner:me", "team:1"])
async def test_a_customer_cannot_subscribe_to_staff_topics(
    live_server: LiveServer, actors: Actors, topic: str
) -> None:
    customer = await actors.customer()
    async with live_client(live_server, customer.token) as live:
        await live.send({"type": "subscribe", "topics": [topic]})
        frame = await live.receive()
    assert frame["type"] == "error"


async def test_a_customer_cannot_subscribe_to_someone_elses_ticket(
    live_server: LiveServer, client: AsyncClient, actors: Actors
) -> None:
    owner, prober = await actors.customer(), await actors.customer()
    ticket = await _file(client, owner)
    async with live_client(live_server, prober.token) as live:
        await live.send({"type": "subscribe", "topics": [f"ticket:{ticket['id']}"]})
        existing = await live.receive()
        await live.send({"type": "subscribe", "topics": [f"ticket:{ticket['id'] + 1000}"]})
        missing = await live.receive()
        await live.send({"type": "subscribe", "topics": ["mine"]})
        await live.receive_type("subscribed")
        agent = await actors.agent()
        reply = {"body": "hello"}
        await client.post(
            f"/api/v1/tickets/{ticket['id']}/messages", json=reply, headers=agent.headers
        )
        await live.no_event_within(0.5)
    assert existing["type"] == missing["type"] == "error"
    assert existing["detail"].replace(str(ticket["id"]), "N") == missing["detail"].replace(
        str(ticket["id"] + 1000), "N"
    )


async def test_malformed_frames_get_error_frames_and_the_socket_stays(
    live_server: LiveServer, actors: Actors
) -> None:
    agent = await actors.agent()
    async with live_client(live_server, agent.token) as live:
        for bad in [
            "not json",
            "[1, 2]",
            '{"type": "nonsense"}',
            '{"type": "subscribe"}',
            '{"type": "subscribe", "topics": ["ticket:abc"]}',
            '{"type": "subscribe", "topics": ["queue:all"], "since": "garbage"}',
            '{"type": "presence", "ticket_id": "x", "state": "viewing"}',
            "\u0000",
        ]:
            await live.socket.send(bad)
            frame = await live.receive()
            assert frame["type"] == "error", (bad, frame)
        await live.send({"type": "ping"})
        assert (await live.receive())["type"] == "pong"


async def test_a_client_that_reconnects_with_its_cursor_gets_what_it_missed(
    live_server: LiveServer, client: AsyncClient, actors: Actors
) -> None:
    agent, customer = await actors.agent(), await actors.customer()
    async with live_client(live_server, agent.token) as live:
        await live.subscribe("queue:all")
        first = await _file(client, customer, "first")
        [frame] = await live.events_until(_is("ticket.created", first["id"]))
        cursor = frame["cursor"]
    missed = [await _file(client, customer, f"missed {n}") for n in range(3)]
    async with live_client(live_server, agent.token) as live:
        await live.subscribe("queue:all", since=cursor)
        frames = await live.events_until(_is("ticket.created", missed[-1]["id"]))
    received = {frame["event"]["ticket_id"] for frame in frames}
    assert {ticket["id"] for ticket in missed} <= received


async def test_a_console_that_lists_then_watches_misses_nothing_in_between(
    live_server: LiveServer, client: AsyncClient, actors: Actors
) -> None:
    agent, customer = await actors.agent(), await actors.customer()
    listing = await client.get("/api/v1/tickets", headers=agent.headers)
    cursor = listing.headers["X-Events-Cursor"]
    between = await _file(client, customer, "filed between list and watch")
    async with live_client(live_server, agent.token) as live:
        await live.subscribe("queue:all", since=cursor)
        frames = await live.events_until(_is("ticket.created", between["id"]))
    assert frames[-1]["event"]["data"]["subject"] == "filed between list and watch"


async def test_a_cursor_older_than_the_window_asks_for_a_resync(
    live_server: LiveServer, actors: Actors
) -> None:
    from app.events.cursor import Cursor

    agent = await actors.agent()
    ancient = Cursor(xmin=1, issued_at=0).encode()
    async with live_client(live_server, agent.token) as live:
        await live.subscribe("queue:all", since=ancient)
        frame = await live.receive()
    assert frame == {"type": "resync_required"}


async def test_revoking_the_token_closes_the_connection(
    live_server: LiveServer, client: AsyncClient, actors: Actors
) -> None:
    agent, admin = await actors.agent(), await actors.admin()
    tokens = await client.get(f"/api/v1/users/{agent.id}/tokens", headers=admin.headers)
    token_id = tokens.json()[0]["id"]
    async with live_client(live_server, agent.token) as live:
        await live.subscribe("queue:all")
        revoked = await client.delete(f"/api/v1/tokens/{token_id}", headers=admin.headers)
        assert revoked.status_code == 204
        with pytest.raises(ConnectionClosed) as closed:
            await live.receive_type("never")
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401


async def test_deactivating_the_user_closes_the_connection(
    live_server: LiveServer, client: AsyncClient, actors: Actors
) -> None:
    agent, admin = await actors.agent(), await actors.admin()
    async with live_client(live_server, agent.token) as live:
        await live.subscribe("queue:all")
        patch = {"active": False}
        await client.patch(f"/api/v1/users/{agent.id}", json=patch, headers=admin.headers)
        with pytest.raises(ConnectionClosed) as closed:
            await live.receive_type("never")
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401


async def test_agents_on_a_ticket_see_each_other_but_customers_do_not(
    live_server: LiveServer, client: AsyncClient, actors: Actors
) -> None:
    anna, marco, customer = await actors.agent(), await actors.agent(), await actors.customer()
    ticket = await _file(client, customer)
    topic = f"ticket:{ticket['id']}"
    async with (
        live_client(live_server, anna.token) as anna_live,
        live_client(live_server, marco.token) as marco_live,
        live_client(live_server, customer.token) as customer_live,
    ):
        await marco_live.subscribe(topic)
        await customer_live.subscribe(topic)
        await anna_live.subscribe(topic)
        await anna_live.send({"type": "presence", "ticket_id": ticket["id"], "state": "typing"})
        seen = await marco_live.receive_type("presence")
        with pytest.raises(TimeoutError):
            await customer_live.receive_type("presence", within=0.5)
        with pytest.raises(TimeoutError):
            await anna_live.receive_type("presence", within=0.3)
    assert seen["user"] == {"id": anna.id, "name": anna.name}
    assert seen["state"] == "typing"


async def test_the_origin_must_be_allowed(live_server: LiveServer) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    with pytest.raises(InvalidStatus):
        async with connect(live_server.ws_url, origin="https://evil.example"):  # type: ignore[arg-type]
            pass
    await asyncio.sleep(0)
