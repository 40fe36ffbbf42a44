"""Merge test helpers: small typed calls, each asserting only its success."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient, Response

from tests.factories import Actor
from tests.tickets.helpers import API, JSON, ticket_url


def expect(response: Response, status: int) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def merge(
    client: AsyncClient,
    actor: Actor,
    ticket_id: int,
    into_id: int,
    *,
    if_match: str | None = None,
    into_version: int | None = None,
    note: str | None = None,
) -> Response:
    body: JSON = {"into_id": into_id}
    if into_version is not None:
        body["into_version"] = into_version
    if note is not None:
        body["note"] = note
    headers = dict(actor.headers)
    if if_match is not None:
        headers["If-Match"] = if_match
    return await client.post(ticket_url(ticket_id, "/merge"), json=body, headers=headers)


async def merge_ok(client: AsyncClient, actor: Actor, ticket_id: int, into_id: int) -> JSON:
    primary: JSON = expect(await merge(client, actor, ticket_id, into_id), 200)
    return primary


async def linked(client: AsyncClient, actor: Actor, ticket_id: int, **params: Any) -> JSON:
    page: JSON = expect(
        await client.get(ticket_url(ticket_id, "/linked"), params=params, headers=actor.headers),
        200,
    )
    return page


async def follow(client: AsyncClient, actor: Actor, ticket_id: int, user_id: int) -> None:
    response = await client.post(
        f"{API}/tickets/{ticket_id}/followers", json={"user_id": user_id}, headers=actor.headers
    )
    assert response.status_code in (200, 201, 204), response.text
