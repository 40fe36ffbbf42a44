"""What a live socket costs and how it lets go: one task when idle, deflate without
lasting zlib state, and the kernel resetting a peer that stopped taking data."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import socket
import struct
import time
from collections.abc import AsyncIterator

from fastapi import FastAPI
from httpx import AsyncClient
from websockets.asyncio.client import connect
from websockets.extensions.permessage_deflate import PerMessageDeflate

from app.live.connection import CLOSE_TOO_SLOW
from app.live.hub import EventHub
from app.live.protocol import LiveWebSocketProtocol
from tests.factories import Actor, Actors
from tests.live.conftest import LiveServer, live_client, serve
from tests.live.test_backpressure import (
    MAX_CHANGES,
    NOTE,
    TICKETS,
    _file,
    _flood_until_dropped,
    _read_until_closed,
    _stalled_subscriber,
)


def _server_tasks() -> set[asyncio.Task[object]]:
    return set(asyncio.all_tasks())


def _code_file(task: asyncio.Task[object]) -> str:
    code = getattr(task.get_coro(), "cr_code", None)
    return "" if code is None else str(code.co_filename)


async def test_an_idle_subscribed_connection_holds_one_task(
    live_server: LiveServer, app: FastAPI, actors: Actors
) -> None:
    agent = await actors.agent()
    hub: EventHub = app.state.hub
    async with contextlib.AsyncExitStack() as stack:
        await asyncio.sleep(0.1)
        before = _server_tasks()
        clients = [
            await stack.enter_async_context(live_client(live_server, agent.token))
            for _ in range(10)
        ]
        for client in clients:
            await client.subscribe("queue:all")
        await asyncio.sleep(0.2)  # writers that sent ready/subscribed have finished
        added = _server_tasks() - before
        # uvicorn's task for each handler, and no task of the live channel's own
        # (the writer and closer exist only while frames or a close are pending).
        handlers = [t for t in added if t.get_coro().__qualname__.endswith("run_asgi")]
        own = [t for t in added if "/app/" in _code_file(t)]
        assert len(handlers) == 10
        assert own == []
        assert hub.subscriber_count() == 10


class _DeflatingProtocol(LiveWebSocketProtocol):
    pass


@contextlib.asynccontextmanager
async def _deflate_server(app: FastAPI) -> AsyncIterator[LiveServer]:
    async with serve(app, _DeflatingProtocol, ws_per_message_deflate=True) as server:
        yield server


async def test_deflate_is_negotiated_without_context_takeover(
    app: FastAPI, client: AsyncClient, actors: Actors
) -> None:
    agent, customer = await actors.agent(), await actors.customer()
    async with (
        _deflate_server(app) as server,
        connect(server.ws_url, compression="deflate", open_timeout=5) as ws,
    ):
        (extension,) = ws.protocol.extensions
        assert isinstance(extension, PerMessageDeflate)
        # Neither side keeps a compression context between messages, so an idle socket
        # holds no zlib state on the server.
        assert extension.local_no_context_takeover
        assert extension.remote_no_context_takeover
        await ws.send(json.dumps({"type": "auth", "token": agent.token}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "ready"
        await ws.send(json.dumps({"type": "subscribe", "topics": ["queue:all"]}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "subscribed"
        ticket_id = await _file(client, customer, 1)
        for _ in range(2):  # two messages: the second must not need the first's context
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
                if frame["type"] == "event":
                    break
            assert frame["event"]["ticket_id"] == ticket_id
            ticket_id = await _file(client, customer, 2)


def _server_socket_open(client_address: tuple[str, int]) -> bool:
    """Whether this process still has the server's end of the client's connection."""
    for name in os.listdir("/proc/self/fd"):
        try:
            duplicate = socket.socket(fileno=os.dup(int(name)))
        except OSError:
            continue
        try:
            if duplicate.family == socket.AF_INET and duplicate.getpeername() == client_address:
                return True
        except OSError:
            pass
        finally:
            duplicate.close()
    return False


_SIOCOUTQNSD = 0x894B  # linux/sockios.h: unsent bytes in a socket's send queue


class _QuickResetProtocol(LiveWebSocketProtocol):
    # Short: the client's window is shut on purpose before the flood (see below).
    tcp_user_timeout_seconds = 0.5


async def test_a_client_that_takes_no_data_is_dropped_and_its_socket_released(
    small_queue_app: FastAPI, client: AsyncClient, actors: Actors
) -> None:
    agent, customer = await actors.agent(), await actors.customer()
    tickets = [await _file(client, customer, n) for n in range(TICKETS)]
    filler = await _file(client, customer, TICKETS)
    hub: EventHub = small_queue_app.state.hub
    async with (
        serve(small_queue_app, _QuickResetProtocol) as server,
        _stalled_subscriber(server, agent.token) as ws,
    ):
        address = ws.local_address
        assert _server_socket_open(address)
        # First shut the client's window for certain. Flooding alone can overflow the
        # connection's queue before the socket buffers fill (a busy machine starves the
        # writer), and then the backlog and the close frame still fit: a clean 4408.
        await _until_the_client_takes_no_more(client, agent, filler, address)
        await _flood_until_dropped(client, agent, tickets, hub)
        assert hub.subscriber_count() == 0
        # The client's window has been shut since its buffers filled: well within the
        # 30 s a slow reader is given to take its close frame, the kernel resets it.
        deadline = time.monotonic() + 10
        while _server_socket_open(address) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        assert not _server_socket_open(address), "the server still holds the socket"
        closed = await asyncio.wait_for(_read_until_closed(ws), 10)
        # As a rule a reset: the close frame cannot go out through a shut window. A
        # clean 4408 is the one other ending, when the client's kernel still made room
        # for those few bytes (seen once the flood's frames were many and small, as a
        # status change to pending also records sla.paused). Either way the server let go.
        assert closed.rcvd is None or closed.rcvd.code == CLOSE_TOO_SLOW


async def _until_the_client_takes_no_more(
    client: AsyncClient, agent: Actor, ticket_id: int, address: tuple[str, int]
) -> None:
    """Events one at a time, each handed to the socket before the next, until the
    server's end holds bytes the client's kernel will not take (its window is shut)."""
    status = "pending"
    for _ in range(MAX_CHANGES):
        if _unsent_bytes(address):
            await asyncio.sleep(0.05)  # still unsent a moment later: not in flight, stuck
            if _unsent_bytes(address):
                return
        response = await client.post(
            f"/api/v1/tickets/{ticket_id}/status",
            json={"status": status, "note": NOTE},
            headers=agent.headers,
        )
        assert response.status_code == 200, response.text
        status = "open" if status == "pending" else "pending"
        await asyncio.sleep(0.02)
    raise AssertionError("the client's window never shut")


def _unsent_bytes(client_address: tuple[str, int]) -> int:
    """Bytes the server's end of the connection holds and has not sent (SIOCOUTQNSD)."""
    for name in os.listdir("/proc/self/fd"):
        try:
            duplicate = socket.socket(fileno=os.dup(int(name)))
        except OSError:
            continue
        try:
            if duplicate.family == socket.AF_INET and duplicate.getpeername() == client_address:
                raw = fcntl.ioctl(duplicate.fileno(), _SIOCOUTQNSD, b"\0" * 4)
                unsent: int = struct.unpack("i", raw)[0]
                return unsent
        except OSError:
            pass
        finally:
            duplicate.close()
    return 0
