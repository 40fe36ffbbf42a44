"""Posting connectors' messages, and small typed calls used by the channel tests."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from httpx import AsyncClient, Response

from tests.factories import Actor

API = "/api/v1"
JSON = dict[str, Any]
_numbers = itertools.count(1)


def post(
    *,
    thread_ref: str = "thread-1",
    handle: str = "@Ada",
    body: str = "My order never came",
    source: str = "twitter",
    external_id: str | None = None,
    **extra: Any,
) -> JSON:
    return {
        "source": source,
        "thread_ref": thread_ref,
        "external_id": external_id or f"post-{next(_numbers)}",
        "sender": {"handle": handle, "name": "Ada Lovelace"},
        "body": body,
        "sent_at": datetime.now(UTC).isoformat(),
        **extra,
    }


async def send_post(client: AsyncClient, actor: Actor, body: JSON) -> Response:
    return await client.post(f"{API}/inbound/messages", json=body, headers=actor.headers)


def expect(response: Response, status: int) -> JSON:
    assert response.status_code == status, response.text
    parsed: JSON = response.json()
    return parsed


async def messages(client: AsyncClient, actor: Actor, ticket_id: int) -> list[JSON]:
    page = expect(
        await client.get(f"{API}/tickets/{ticket_id}/messages?limit=200", headers=actor.headers),
        200,
    )
    items: list[JSON] = page["items"]
    return items
