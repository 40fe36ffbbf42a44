"""Appending to the timeline: the one way events are written.

Called by the domain services inside the transaction that makes the change, after the
ticket row has been changed and its version bumped. In that same transaction it writes
the notification deliveries the event calls for (the outbox), and a trigger announces
the event with pg_notify, which PostgreSQL delivers only when the transaction commits.

Events are written in batches: one INSERT for all the events of a change (a create and
its routing) or of many tickets (a handover batch), and the tickets' pointers to their
latest events go out with the tickets' own UPDATE, so each ticket row is written once.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.events.kinds import EventKind
from app.models import Ticket, TicketEvent, User, Visibility
from app.notifications.outbox import PersonalNotice, Recorded, enqueue


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append, taken right after its change (version, owner as of then)."""

    ticket: Ticket
    kind: EventKind
    actor: User | None
    visibility: Visibility
    data: dict[str, Any]
    ticket_version: int
    owner_id: int | None
    at: datetime

    @classmethod
    def of(
        cls,
        ticket: Ticket,
        kind: EventKind,
        *,
        actor: User | None,
        visibility: Visibility,
        data: dict[str, Any],
    ) -> NewEvent:
        version, owner_id, at = ticket.version, ticket.owner_id, ticket.updated_at
        return cls(ticket, kind, actor, visibility, data, version, owner_id, at)


async def record_event(
    session: AsyncSession,
    ticket: Ticket,
    kind: EventKind,
    *,
    actor: User | None,
    visibility: Visibility,
    data: dict[str, Any],
) -> TicketEvent:
    new = NewEvent.of(ticket, kind, actor=actor, visibility=visibility, data=data)
    [event] = await record_events(session, [new])
    return event


async def record_events(
    session: AsyncSession,
    new: Sequence[NewEvent],
    personal: Sequence[PersonalNotice] = (),
    *,
    fresh: Collection[int] = (),
) -> list[TicketEvent]:
    """Append `new` (in order), then write the outbox rows they and `personal` call for."""
    events = await insert_events(session, new)
    await enqueue(
        session,
        [Recorded(n.ticket, e, n.actor, n.owner_id) for n, e in zip(new, events, strict=True)],
        personal,
        fresh=fresh,
    )
    return events


async def insert_events(session: AsyncSession, new: Sequence[NewEvent]) -> list[TicketEvent]:
    """One INSERT for all; the tickets get their pointers, written with their next flush."""
    if not new:
        return []
    rows = [
        {
            "ticket_id": n.ticket.id,
            "kind": n.kind.value,
            "visibility": n.visibility,
            "actor_id": n.actor.id if n.actor else None,
            "data": n.data,
            "ticket_version": n.ticket_version,
            "created_at": n.at,
        }
        for n in new
    ]
    # No autoflush: the tickets' own changes wait for the flush after this, and go out
    # together with the pointers set below (one UPDATE per ticket, not two).
    with session.no_autoflush:
        # render_nulls: an event without an actor would otherwise go in a statement of
        # its own (the ORM groups rows by the keys they leave out).
        result = await session.scalars(
            insert(TicketEvent).returning(TicketEvent, sort_by_parameter_order=True),
            rows,
            execution_options={"render_nulls": True},
        )
        events = list(result)
    for n, event in zip(new, events, strict=True):
        ticket = n.ticket
        ticket.last_event_id = event.id
        if n.visibility is Visibility.PUBLIC:
            ticket.last_public_event_id = event.id
        if n.kind is EventKind.OWNER_CHANGED:
            ticket.last_owner_event_id = event.id
    return events


def person(user: User | None) -> dict[str, Any] | None:
    """How a person is written into event data: enough to render without a lookup."""
    return None if user is None else {"id": user.id, "name": user.name}
