"""Webhook test helpers: a scriptable HTTP receiver, and small typed calls to the API."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import Actor

API = "/api/v1"
JSON = dict[str, Any]
_numbers = itertools.count(1)


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0  # seconds before answering (past the client's timeout: a timeout)


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int  # the status the receiver answered with

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    def json(self) -> JSON:
        parsed: JSON = json.loads(self.body)
        return parsed


class Receiver:
    """An ASGI app that records every request and answers as scripted: the queued replies
    first, in order, then `default` (or what `choose` picks for a request)."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.queue: deque[Reply] = deque()
        self.default = Reply()
        self.choose: Callable[[str, int], Reply] | None = None
        self.base_url = ""
        self._release = asyncio.Event()

    def script(self, *replies: Reply) -> None:
        self.queue.extend(replies)

    def url(self, path: str = "/hook") -> str:
        return self.base_url + path

    def ids(self, *, answered: int | None = None) -> list[str]:
        return [r.webhook_id for r in self.requests if answered is None or r.answered == answered]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the sender died mid-request (a killed worker): nothing was received
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        if self.queue:
            reply = self.queue.popleft()
        elif self.choose is not None:
            reply = self.choose(scope["path"], len(self.requests))
        else:
            reply = self.default
        self.requests.append(Received(scope["path"], headers, b"".join(chunks), reply.status))
        if reply.delay:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._release.wait(), reply.delay)
        await send(
            {
                "type": "http.response.start",
                "status": reply.status,
                "headers": [(k.encode(), v.encode()) for k, v in reply.headers.items()],
            }
        )
        await send({"type": "http.response.body", "body": reply.body})

    def release(self) -> None:
        """End every delayed answer now (the server is going away)."""
        self._release.set()


# Small typed calls, each asserting only its own success ---------------------------------


def expect(response: httpx.Response, status: int) -> JSON:
    assert response.status_code == status, response.text
    body: JSON = response.json()
    return body


async def create_webhook(
    client: httpx.AsyncClient, admin: Actor, url: str, kinds: list[str] | None = None, **extra: Any
) -> JSON:
    body = {"url": url, "event_kinds": kinds or ["*"], **extra}
    return expect(await client.post(f"{API}/webhooks", json=body, headers=admin.headers), 201)


async def file_ticket(client: httpx.AsyncClient, actor: Actor, subject: str = "") -> JSON:
    body = {
        "subject": subject or f"Printer on fire {next(_numbers)}",
        "description": "Smoke everywhere.",
        "requester": {"email": f"someone{next(_numbers)}@customers.example"},
    }
    return expect(await client.post(f"{API}/tickets", json=body, headers=actor.headers), 201)


async def deliveries(client: httpx.AsyncClient, admin: Actor, webhook_id: int) -> list[JSON]:
    page = expect(
        await client.get(
            f"{API}/webhooks/{webhook_id}/deliveries?limit=200", headers=admin.headers
        ),
        200,
    )
    items: list[JSON] = page["items"]
    return items


async def sql(
    sessionmaker: async_sessionmaker[AsyncSession], statement: str, **params: Any
) -> list[Any]:
    """Run one statement in its own transaction (to fast-forward time, mostly)."""
    async with sessionmaker() as session, session.begin():
        result = await session.execute(text(statement), params)
        return list(result.all()) if statement.lstrip().upper().startswith("SELECT") else []


async def make_due(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Fast-forward: every pending delivery is due now."""
    await sql(
        sessionmaker,
        "UPDATE notification_deliveries SET next_attempt_at = now() WHERE status = 'pending'",
    )
