"""Back-pressure: a client that stops reading is closed with 4408, not buffered forever.

The server's writes only stop once the socket buffers between it and the client are
full; on loopback Linux grows a send buffer to megabytes. To reach that point in a
second or two the client's receive buffer is made small before it connects, the
server's end of this one connection gets a small send buffer, compression is off (the
notes would otherwise shrink to nothing) and every event carries a long note.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import socket
import string
import time
from collections.abc import AsyncIterator

from fastapi import FastAPI
from httpx import AsyncClient
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from app.live.connection import CLOSE_TOO_SLOW
from app.live.hub import EventHub
from tests.factories import Actor, Actors
from tests.live.conftest import LiveServer, serve

# A status change may carry a note of up to 5,000 characters and the note rides in the
# event, so each event frame is about 5 KB. Random letters so nothing shrinks them.
NOTE = "".join(random.Random(4408).choices(string.ascii_letters, k=4800))
TICKETS = 10
MAX_CHANGES = 400  # about 30 are needed with these buffers; this bounds a failing run
SMALL_BUFFER = 4096  # the kernel doubles it


def _shrink_server_send_buffer(client_address: tuple[str, int]) -> None:
    """Give the server's end of the connection from `client_address` a small send buffer.

    The server runs in this process, so its socket is one of our descriptors: find the
    one whose peer is the client and set SO_SNDBUF on a duplicate (same socket).
    """
    for name in os.listdir("/proc/self/fd"):
        try:
            duplicate = socket.socket(fileno=os.dup(int(name)))
        except OSError:
            continue
        try:
            if duplicate.family == socket.AF_INET and duplicate.getpeername() == client_address:
                duplicate.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SMALL_BUFFER)
                return
        except OSError:
            pass
        finally:
            duplicate.close()
    raise AssertionError(f"no server-side socket for {client_address}")


@contextlib.asynccontextmanager
async def _stalled_subscriber(server: LiveServer, token: str) -> AsyncIterator[ClientConnection]:
    """A client subscribed to queue:all, with small buffers on both ends."""
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL_BUFFER)
    raw.setblocking(False)
    host, port = server.base_url.removeprefix("http://").split(":")
    await asyncio.get_running_loop().sock_connect(raw, (host, int(port)))
    # max_queue: the client library stops reading its socket after a few frames.
    async with connect(
        server.ws_url, sock=raw, max_queue=4, compression=None, open_timeout=5
    ) as ws:
        await ws.send(json.dumps({"type": "auth", "token": token}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "ready"
        await ws.send(json.dumps({"type": "subscribe", "topics": ["queue:all"]}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "subscribed"
        _shrink_server_send_buffer(raw.getsockname())
        yield ws


async def _file(client: AsyncClient, customer: Actor, n: int) -> int:
    response = await client.post(
        "/api/v1/tickets",
        json={"subject": f"ticket {n}", "description": "details"},
        headers=customer.headers,
    )
    assert response.status_code == 201, response.text
    ticket_id: int = response.json()["id"]
    return ticket_id


async def _flood_until_dropped(
    client: AsyncClient, agent: Actor, tickets: list[int], hub: EventHub
) -> int:
    """Status changes (each with a long note) until the hub lets go of the client."""
    made = 0

    async def churn(ticket_id: int) -> None:
        nonlocal made
        status = "pending"
        while made < MAX_CHANGES and hub.subscriber_count():
            response = await client.post(
                f"/api/v1/tickets/{ticket_id}/status",
                json={"status": status, "note": NOTE},
                headers=agent.headers,
            )
            assert response.status_code == 200, response.text
            made += 1
            status = "open" if status == "pending" else "pending"

    await asyncio.gather(*(churn(t) for t in tickets))
    deadline = time.monotonic() + 5
    while hub.subscriber_count() and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.02)
    return made


async def _read_until_closed(ws: ClientConnection) -> ConnectionClosed:
    """Read the backlog; return how the connection ended."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), 5)
    except ConnectionClosed as closed:
        return closed


async def _setup(
    small_queue_app: FastAPI, client: AsyncClient, actors: Actors
) -> tuple[Actor, list[int], EventHub]:
    agent, customer = await actors.agent(), await actors.customer()
    tickets = [await _file(client, customer, n) for n in range(TICKETS)]
    return agent, tickets, small_queue_app.state.hub


async def test_a_client_that_stops_reading_is_closed_with_4408(
    small_queue_app: FastAPI, client: AsyncClient, actors: Actors
) -> None:
    agent, tickets, hub = await _setup(small_queue_app, client, actors)
    async with serve(small_queue_app) as server, _stalled_subscriber(server, agent.token) as ws:
        assert hub.subscriber_count() == 1
        # From here on the client reads nothing while the events flow (through the
        # session app; this app's hub picks them up from PostgreSQL).
        made = await _flood_until_dropped(client, agent, tickets, hub)
        # The server gave up on it: the connection left the hub, so nothing more is
        # queued for it however many events follow.
        assert hub.subscriber_count() == 0, f"still attached after {made} events"
        # The client reads again at once: the backlog, then a close frame with 4408.
        closed = await asyncio.wait_for(_read_until_closed(ws), 10)
    assert closed.rcvd is not None, f"no close frame, the socket was just dropped: {closed!r}"
    assert closed.rcvd.code == CLOSE_TOO_SLOW


async def test_a_client_that_reads_again_later_still_learns_it_was_too_slow(
    small_queue_app: FastAPI, client: AsyncClient, actors: Actors
) -> None:
    agent, tickets, hub = await _setup(small_queue_app, client, actors)
    async with serve(small_queue_app) as server, _stalled_subscriber(server, agent.token) as ws:
        made = await _flood_until_dropped(client, agent, tickets, hub)
        assert hub.subscriber_count() == 0, f"still attached after {made} events"
        await asyncio.sleep(2)  # a phone waking up, a tab coming back to the front
        closed = await asyncio.wait_for(_read_until_closed(ws), 10)
    assert closed.rcvd is not None, f"no close frame, the socket was just dropped: {closed!r}"
    assert closed.rcvd.code == CLOSE_TOO_SLOW
