"""A real uvicorn server on a free loopback port, and a real WebSocket client."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect

from app.config import Settings
from app.live.protocol import LiveWebSocketProtocol
from app.main import create_app
from tests.service_process import free_port


@dataclass
class LiveServer:
    base_url: str

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/api/v1/ws"


@contextlib.asynccontextmanager
async def serve(
    app: FastAPI,
    protocol: type[LiveWebSocketProtocol] = LiveWebSocketProtocol,
    **options: Any,
) -> AsyncIterator[LiveServer]:
    """Serve an app whose lifespan the caller already runs, through the WebSocket
    protocol `helpdesk serve` uses."""
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        lifespan="off",
        log_level="warning",
        ws=protocol,
        **options,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no "started" event
        await asyncio.sleep(0.01)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        await task


SMALL_QUEUE_SIZE = 10


@pytest.fixture
async def small_queue_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """Another app instance whose connections may fall only 10 frames behind."""
    other = create_app(settings.model_copy(update={"live_queue_size": SMALL_QUEUE_SIZE}))
    async with other.router.lifespan_context(other):
        yield other


@pytest.fixture
async def live_server(app: FastAPI) -> AsyncIterator[LiveServer]:
    async with serve(app) as server:
        yield server


class Client:
    """A WebSocket client that speaks the live protocol."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket

    async def send(self, frame: dict[str, Any]) -> None:
        await self.socket.send(json.dumps(frame))

    async def receive(self, within: float = 5.0) -> dict[str, Any]:
        frame: dict[str, Any] = json.loads(await asyncio.wait_for(self.socket.recv(), within))
        return frame

    async def receive_type(self, kind: str, within: float = 5.0) -> dict[str, Any]:
        while True:
            frame = await self.receive(within)
            if frame["type"] == kind:
                return frame

    async def subscribe(self, *topics: str, since: str | None = None) -> dict[str, Any]:
        frame: dict[str, Any] = {"type": "subscribe", "topics": list(topics)}
        if since is not None:
            frame["since"] = since
        await self.send(frame)
        return await self.receive_type("subscribed")

    async def events_until(self, predicate: Any, within: float = 5.0) -> list[dict[str, Any]]:
        """Event frames received until one satisfies predicate (included)."""
        received = []
        while True:
            frame = await self.receive(within)
            if frame["type"] != "event":
                continue
            received.append(frame)
            if predicate(frame):
                return received

    async def no_event_within(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            while True:
                frame = await self.receive(seconds)
                assert frame["type"] != "event", f"unexpected event {frame}"


@contextlib.asynccontextmanager
async def live_client(server: LiveServer, token: str | None) -> AsyncIterator[Client]:
    async with connect(server.ws_url, open_timeout=5) as socket:
        client = Client(socket)
        if token is not None:
            await client.send({"type": "auth", "token": token})
            ready = await client.receive()
            assert ready["type"] == "ready", ready
        yield client
