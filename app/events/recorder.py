"""Appending to the timeline: the one way events are written.

Called by the domain services inside the transaction that makes the change, after the
ticket row has been changed and its version bumped. In that same transaction it writes
the notification deliveries the event calls for (the outbox), and a trigger announces
the event with pg_notify, which PostgreSQL delivers only when the transaction commits.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.events.kinds import EventKind
from app.models import Ticket, TicketEvent, User, Visibility
from app.notifications.outbox import enqueue_for_event


async def record_event(
    session: AsyncSession,
    ticket: Ticket,
    kind: EventKind,
    *,
    actor: User | None,
    visibility: Visibility,
    data: dict[str, Any],
) -> TicketEvent:
    event = TicketEvent(
        ticket_id=ticket.id,
        kind=kind.value,
        visibility=visibility,
        actor_id=actor.id if actor else None,
        data=data,
        ticket_version=ticket.version,
        created_at=ticket.updated_at,
    )
    session.add(event)
    await session.flush()
    ticket.last_event_id = event.id
    if visibility is Visibility.PUBLIC:
        ticket.last_public_event_id = event.id
    if kind is EventKind.OWNER_CHANGED:
        ticket.last_owner_event_id = event.id
    await enqueue_for_event(session, ticket, event, actor)
    return event


def person(user: User | None) -> dict[str, Any] | None:
    """How a person is written into event data: enough to render without a lookup."""
    return None if user is None else {"id": user.id, "name": user.name}
