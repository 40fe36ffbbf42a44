"""Ticket test helpers: small typed calls to the API, each asserting only its success.

Tests that check a failure make the raw request themselves (and `assert_problem` it).
"""

from __future__ import annotations

import itertools
from typing import Any

from httpx import AsyncClient, Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import IdempotencyRecord, Message, Role, Ticket, TicketEvent, User
from tests.factories import Actor

Maker = async_sessionmaker[AsyncSession]
JSON = dict[str, Any]

API = "/api/v1"
_numbers = itertools.count(1)


def ticket_url(ticket_id: int, tail: str = "") -> str:
    return f"{API}/tickets/{ticket_id}{tail}"


def _expect(response: Response, status: int) -> JSON:
    assert response.status_code == status, response.text
    body: JSON = response.json()
    return body


async def create(client: AsyncClient, actor: Actor, body: JSON, **headers: str) -> Response:
    """POST /tickets as `actor`; staff and integrations get a fresh requester unless named."""
    return await client.post(f"{API}/tickets", json=body, headers={**actor.headers, **headers})


async def file_ticket(
    client: AsyncClient, actor: Actor, *, for_customer: Actor | None = None, **fields: Any
) -> JSON:
    """File a ticket and return it. Staff and integrations file for `for_customer`, or for
    a new customer by email when none is given."""
    body: JSON = {"subject": "Printer on fire", "description": "Smoke everywhere.", **fields}
    if actor.role is not Role.CUSTOMER and "requester" not in body:
        if for_customer is not None:
            body.setdefault("requester_id", for_customer.id)
        elif "requester_id" not in body:
            body["requester"] = {"email": f"someone{next(_numbers)}@customers.example"}
    return _expect(await create(client, actor, body), 201)


async def get_ticket(client: AsyncClient, actor: Actor, ticket_id: int) -> JSON:
    return _expect(await client.get(ticket_url(ticket_id), headers=actor.headers), 200)


async def patch(
    client: AsyncClient, actor: Actor, ticket_id: int, if_match: str | None = None, **fields: Any
) -> Response:
    headers = dict(actor.headers)
    if if_match is not None:
        headers["If-Match"] = if_match
    return await client.patch(ticket_url(ticket_id), json=fields, headers=headers)


async def move(
    client: AsyncClient,
    actor: Actor,
    ticket_id: int,
    status: str,
    *,
    note: str | None = None,
    if_match: str | None = None,
) -> Response:
    body: JSON = {"status": status}
    if note is not None:
        body["note"] = note
    headers = dict(actor.headers)
    if if_match is not None:
        headers["If-Match"] = if_match
    return await client.post(ticket_url(ticket_id, "/status"), json=body, headers=headers)


async def move_ok(client: AsyncClient, actor: Actor, ticket_id: int, status: str) -> JSON:
    return _expect(await move(client, actor, ticket_id, status), 200)


async def assign(
    client: AsyncClient,
    actor: Actor,
    ticket_id: int,
    owner_id: int | None,
    *,
    reason: str = "manual",
    note: str | None = None,
    if_match: str | None = None,
) -> Response:
    body: JSON = {"owner_id": owner_id, "reason": reason}
    if note is not None:
        body["note"] = note
    headers = dict(actor.headers)
    if if_match is not None:
        headers["If-Match"] = if_match
    return await client.post(ticket_url(ticket_id, "/assign"), json=body, headers=headers)


async def post_message(
    client: AsyncClient,
    actor: Actor,
    ticket_id: int,
    body: str = "Thanks, looking into it.",
    visibility: str = "public",
    **headers: str,
) -> Response:
    return await client.post(
        ticket_url(ticket_id, "/messages"),
        json={"body": body, "visibility": visibility},
        headers={**actor.headers, **headers},
    )


async def reply(
    client: AsyncClient,
    actor: Actor,
    ticket_id: int,
    body: str = "Thanks, looking into it.",
    visibility: str = "public",
) -> JSON:
    return _expect(await post_message(client, actor, ticket_id, body, visibility), 201)


async def messages(client: AsyncClient, actor: Actor, ticket_id: int) -> list[JSON]:
    page = _expect(await client.get(ticket_url(ticket_id, "/messages"), headers=actor.headers), 200)
    items: list[JSON] = page["items"]
    return items


async def events(client: AsyncClient, actor: Actor, ticket_id: int) -> list[JSON]:
    response = await client.get(
        ticket_url(ticket_id, "/events"), params={"limit": 200}, headers=actor.headers
    )
    items: list[JSON] = _expect(response, 200)["items"]
    return items


async def list_tickets(client: AsyncClient, actor: Actor, **params: Any) -> JSON:
    response = await client.get(f"{API}/tickets", params=params, headers=actor.headers)
    return _expect(response, 200)


async def listed_ids(client: AsyncClient, actor: Actor, **params: Any) -> list[int]:
    page = await list_tickets(client, actor, limit=200, **params)
    assert page["next_cursor"] is None, "more than one page; page through it instead"
    return [ticket["id"] for ticket in page["items"]]


async def all_pages(client: AsyncClient, actor: Actor, **params: Any) -> list[int]:
    ids: list[int] = []
    cursor: str | None = None
    while True:
        page_params = dict(params)
        if cursor is not None:
            page_params["cursor"] = cursor
        page = await list_tickets(client, actor, **page_params)
        ids += [ticket["id"] for ticket in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids


async def set_active(client: AsyncClient, admin: Actor, user_id: int, active: bool) -> None:
    response = await client.patch(
        f"{API}/users/{user_id}", json={"active": active}, headers=admin.headers
    )
    assert response.status_code == 200, response.text


# Counting rows straight from the database: "nothing was created" means no row at all,
# not just nothing the API chose to show.


async def count_tickets(sessionmaker: Maker) -> int:
    return await _count(sessionmaker, Ticket)


async def count_messages(sessionmaker: Maker) -> int:
    return await _count(sessionmaker, Message)


async def count_events(sessionmaker: Maker, ticket_id: int | None = None) -> int:
    async with sessionmaker() as session:
        query = select(func.count()).select_from(TicketEvent)
        if ticket_id is not None:
            query = query.where(TicketEvent.ticket_id == ticket_id)
        return int(await session.scalar(query) or 0)


async def count_idempotency_records(sessionmaker: Maker) -> int:
    return await _count(sessionmaker, IdempotencyRecord)


async def count_users(sessionmaker: Maker) -> int:
    return await _count(sessionmaker, User)


async def _count(sessionmaker: Maker, model: type[Any]) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def snapshot(sessionmaker: Maker, ticket_id: int) -> JSON:
    """Everything stored about a ticket, to prove a refused request changed nothing."""
    async with sessionmaker() as session:
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        row = {
            column.key: getattr(ticket, column.key)
            for column in Ticket.__table__.columns
            if column.key not in ("search_public", "search_internal")
        }
        row["search_public"] = str(
            await session.scalar(select(Ticket.search_public).where(Ticket.id == ticket_id))
        )
        row["search_internal"] = str(
            await session.scalar(select(Ticket.search_internal).where(Ticket.id == ticket_id))
        )
        for key, model in (("events", TicketEvent), ("messages", Message)):
            count = select(func.count()).select_from(model).where(model.ticket_id == ticket_id)
            row[key] = int(await session.scalar(count) or 0)
        return row


# The agent's way from new to each status.
PATH_TO: dict[str, list[str]] = {
    "new": [],
    "open": ["open"],
    "pending": ["open", "pending"],
    "resolved": ["open", "resolved"],
    "closed": ["open", "resolved", "closed"],
}


async def bring_to(client: AsyncClient, agent: Actor, ticket_id: int, status: str) -> JSON:
    """Move a new ticket to `status` the way an agent would; returns the ticket."""
    ticket = await get_ticket(client, agent, ticket_id)
    for step in PATH_TO[status]:
        ticket = await move_ok(client, agent, ticket_id, step)
    assert ticket["status"] == status
    return ticket


def etag_of(ticket: JSON) -> str:
    return f'"{ticket["version"]}"'


async def warm_up(client: AsyncClient, *actors: Actor) -> None:
    """Use each token once before a race.

    The first request on a fresh token records last_used_at with an UPDATE that holds
    the token's row lock until it commits, so a burst on a fresh token runs one request
    at a time and races nothing. Once touched, a token is not written again for a while.
    """
    for actor in actors:
        response = await client.get(f"{API}/me", headers=actor.headers)
        assert response.status_code == 200, response.text
