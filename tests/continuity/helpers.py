"""Continuity test helpers: small typed calls to the API, each asserting its success."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.common.dates import format_day
from app.continuity.routing import OPEN_WORK
from app.models import NotificationDelivery, Ticket, TicketEvent, User
from app.people.availability import unavailable_clause
from tests.factories import Actor

API = "/api/v1"
JSON = dict[str, Any]
Maker = async_sessionmaker[AsyncSession]
_numbers = itertools.count(1)


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def iso(moment: datetime) -> str:
    return moment.isoformat()


def days_from_now(days: float) -> datetime:
    return datetime.now(UTC) + timedelta(days=days)


def day_words(moment: datetime, locale: str = "en") -> str:
    """How a day reads in a notice: "3 March" (with the year when not this one)."""
    return format_day(moment.date(), locale, this_year=datetime.now(UTC).year)


async def file_ticket(
    client: AsyncClient, filer: Actor, *, customer: Actor | None = None, **fields: Any
) -> JSON:
    body: JSON = {"subject": f"Request {next(_numbers)}", "description": "It broke.", **fields}
    if customer is not None:
        body["requester_id"] = customer.id
    elif filer.role.value != "customer" and "requester" not in body:
        body["requester"] = {"email": f"someone{next(_numbers)}@customers.example"}
    response = await client.post(f"{API}/tickets", json=body, headers=filer.headers)
    ticket: JSON = _ok(response, 201)
    return ticket


async def assign(client: AsyncClient, actor: Actor, ticket_id: int, owner_id: int | None) -> JSON:
    response = await client.post(
        f"{API}/tickets/{ticket_id}/assign",
        json={"owner_id": owner_id, "reason": "manual"},
        headers=actor.headers,
    )
    ticket: JSON = _ok(response)
    return ticket


async def move(
    client: AsyncClient, actor: Actor, ticket_id: int, status: str, **extra: Any
) -> JSON:
    response = await client.post(
        f"{API}/tickets/{ticket_id}/status", json={"status": status, **extra}, headers=actor.headers
    )
    ticket: JSON = _ok(response)
    return ticket


async def write(
    client: AsyncClient, actor: Actor, ticket_id: int, body: str, visibility: str = "public"
) -> None:
    response = await client.post(
        f"{API}/tickets/{ticket_id}/messages",
        json={"body": body, "visibility": visibility},
        headers=actor.headers,
    )
    _ok(response, 201)


async def get_ticket(client: AsyncClient, actor: Actor, ticket_id: int) -> JSON:
    ticket: JSON = _ok(await client.get(f"{API}/tickets/{ticket_id}", headers=actor.headers))
    return ticket


async def owner_id(client: AsyncClient, actor: Actor, ticket_id: int) -> int | None:
    owner = (await get_ticket(client, actor, ticket_id))["owner"]
    return None if owner is None else int(owner["id"])


async def timeline(client: AsyncClient, actor: Actor, ticket_id: int) -> list[JSON]:
    response = await client.get(
        f"{API}/tickets/{ticket_id}/events", params={"limit": 200}, headers=actor.headers
    )
    items: list[JSON] = _ok(response)["items"]
    return items


async def owner_changes(client: AsyncClient, actor: Actor, ticket_id: int) -> list[JSON]:
    return [
        e for e in await timeline(client, actor, ticket_id) if e["kind"] == "ticket.owner_changed"
    ]


async def away(
    client: AsyncClient,
    actor: Actor,
    user_id: int,
    *,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    reason: str = "vacation",
    backup_id: int | None = None,
) -> JSON:
    """Record an absence (by default one that started a minute ago)."""
    body: JSON = {
        "starts_at": iso(starts_at or datetime.now(UTC) - timedelta(minutes=1)),
        "ends_at": None if ends_at is None else iso(ends_at),
        "reason": reason,
    }
    if backup_id is not None:
        body["backup_id"] = backup_id
    response = await client.post(
        f"{API}/users/{user_id}/absences", json=body, headers=actor.headers
    )
    absence: JSON = _ok(response, 201)
    return absence


async def end_absence(client: AsyncClient, actor: Actor, user_id: int, absence_id: int) -> JSON:
    response = await client.patch(
        f"{API}/users/{user_id}/absences/{absence_id}",
        json={"ends_at": iso(datetime.now(UTC))},
        headers=actor.headers,
    )
    absence: JSON = _ok(response)
    return absence


async def set_active(client: AsyncClient, admin: Actor, user_id: int, active: bool) -> None:
    response = await client.patch(
        f"{API}/users/{user_id}", json={"active": active}, headers=admin.headers
    )
    _ok(response)


async def team_settings(client: AsyncClient, manager: Actor, team_id: int, **fields: Any) -> JSON:
    response = await client.patch(
        f"{API}/teams/{team_id}/continuity", json=fields, headers=manager.headers
    )
    settings: JSON = _ok(response)
    return settings


async def count_events(sessionmaker: Maker, kind: str | None = None) -> int:
    async with sessionmaker() as session:
        query = select(func.count()).select_from(TicketEvent)
        if kind is not None:
            query = query.where(TicketEvent.kind == kind)
        return int(await session.scalar(query) or 0)


async def deliveries_to(sessionmaker: Maker, user_id: int) -> list[NotificationDelivery]:
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(NotificationDelivery)
            .where(NotificationDelivery.recipient_id == user_id)
            .order_by(NotificationDelivery.id)
        )
        return list(rows)


def notices_of_kind(deliveries: list[NotificationDelivery], kind: str) -> list[JSON]:
    return [n for d in deliveries for n in d.payload.get("notices", []) if n.get("kind") == kind]


async def open_work_of_unavailable(sessionmaker: Maker) -> list[int]:
    """Open tickets whose owner cannot hold them: must always be none after a run."""
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(Ticket.id)
            .join(User, User.id == Ticket.owner_id)
            .where(Ticket.status.in_(OPEN_WORK), unavailable_clause(datetime.now(UTC)))
        )
        return list(rows)
