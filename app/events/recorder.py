"""Appending to the timeline: the one way events are written.

Called by the domain services inside the transaction that makes the change, after the
ticket row has been changed and its version bumped. In that same transaction it runs
the reactions registered for the events' kinds (app/events/reactions.py), the last of
which writes the notification deliveries the events call for (the outbox); a trigger
announces each event with pg_notify, which PostgreSQL delivers only at commit.

Events are written in batches: one INSERT for all the events of a change (a create and
its routing) or of many tickets (a handover batch), and the tickets' pointers to their
latest events go out with the tickets' own UPDATE, so each ticket row is written once.
A ticket filed in the same transaction has no UPDATE of its own (it went in as it
ends up): its pointers are set by the statement that inserts its events.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from app.events.kinds import EventKind
from app.events.reactions import Batch, reactions_of, running_batch
from app.events.records import NewEvent, Recorded
from app.models import Ticket, TicketEvent, User, Visibility


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
    session: AsyncSession, new: Sequence[NewEvent], *, fresh: Collection[int] = ()
) -> list[TicketEvent]:
    """Append `new` (in order) and run the reactions to them (app/events/reactions.py).

    `fresh` names tickets filed in this very transaction. Recorded by a reaction, the
    events join the batch being reacted to, for its next round."""
    events = await insert_events(session, new, fresh=fresh)
    recorded = [
        Recorded(n.ticket, e, n.actor, n.owner_id, n.status)
        for n, e in zip(new, events, strict=True)
    ]
    running = running_batch(session)
    if running is not None:
        running.join(recorded, fresh)
    elif recorded:
        await reactions_of(session).react(Batch(session, recorded, set(fresh)))
    return events


async def insert_events(
    session: AsyncSession, new: Sequence[NewEvent], *, fresh: Collection[int] = ()
) -> list[TicketEvent]:
    """One INSERT for all; the tickets get their pointers, written with their next flush.

    Tickets filed in this transaction (`fresh`) have nothing else to flush: their
    pointers are set by the same statement that inserts the events."""
    if not new:
        return []
    if all(n.ticket.id in fresh for n in new):
        return await _insert_for_new_tickets(session, new)
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
        for pointer, event_id in _pointers_moved(n, event.id):
            setattr(n.ticket, pointer, event_id)
    return events


def _pointers_moved(new: NewEvent, event_id: int) -> list[tuple[str, int]]:
    """The ticket's pointers an event moves: to the newest event, the newest a requester
    may see, the latest owner change (the CTE below applies the same rule in SQL)."""
    moved = [("last_event_id", event_id)]
    if new.visibility is Visibility.PUBLIC:
        moved.append(("last_public_event_id", event_id))
    if new.kind is EventKind.OWNER_CHANGED:
        moved.append(("last_owner_event_id", event_id))
    return moved


# The events of tickets just filed, and the tickets' pointers to them, in one statement
# (a data-modifying CTE): the pointer UPDATE would otherwise be a round trip of its own.
_INSERT_AND_POINT = text(
    """
    WITH e AS (
        INSERT INTO ticket_events
            (ticket_id, kind, visibility, actor_id, data, ticket_version, created_at)
        SELECT ticket_id, kind, visibility, actor_id, data::jsonb, ticket_version, created_at
        FROM unnest(
            CAST(:ticket_ids AS bigint[]), CAST(:kinds AS text[]),
            CAST(:visibilities AS text[]), CAST(:actor_ids AS bigint[]),
            CAST(:data AS text[]), CAST(:versions AS integer[]),
            CAST(:created_at AS timestamptz[])
        ) AS n(ticket_id, kind, visibility, actor_id, data, ticket_version, created_at)
        RETURNING id, ticket_id, kind, visibility, txid
    ), pointed AS (
        UPDATE tickets AS t
        SET last_event_id = p.last,
            last_public_event_id = coalesce(p.last_public, t.last_public_event_id),
            last_owner_event_id = coalesce(p.last_owner, t.last_owner_event_id)
        FROM (
            SELECT ticket_id,
                   max(id) AS last,
                   max(id) FILTER (WHERE visibility = :public) AS last_public,
                   max(id) FILTER (WHERE kind = :owner_changed) AS last_owner
            FROM e GROUP BY ticket_id
        ) AS p
        WHERE t.id = p.ticket_id
    )
    SELECT id, txid FROM e ORDER BY id
    """
)


async def _insert_for_new_tickets(
    session: AsyncSession, new: Sequence[NewEvent]
) -> list[TicketEvent]:
    rows = (
        await session.execute(
            _INSERT_AND_POINT,
            {
                "ticket_ids": [n.ticket.id for n in new],
                "kinds": [n.kind.value for n in new],
                "visibilities": [n.visibility.value for n in new],
                "actor_ids": [n.actor.id if n.actor else None for n in new],
                "data": [json.dumps(n.data) for n in new],
                "versions": [n.ticket_version for n in new],
                "created_at": [n.at for n in new],
                "public": Visibility.PUBLIC.value,
                "owner_changed": EventKind.OWNER_CHANGED.value,
            },
        )
    ).all()
    events = []
    # Ids are handed out in the order the rows are inserted, which is the order of `new`.
    for n, (event_id, txid) in zip(new, rows, strict=True):
        event = TicketEvent(
            id=event_id,
            ticket_id=n.ticket.id,
            kind=n.kind.value,
            visibility=n.visibility,
            actor_id=n.actor.id if n.actor else None,
            data=n.data,
            ticket_version=n.ticket_version,
            txid=txid,
            created_at=n.at,
        )
        make_transient_to_detached(event)
        session.add(event)
        events.append(event)
        # Already written: the ticket must not flush them again.
        for pointer, moved_to in _pointers_moved(n, event_id):
            set_committed_value(n.ticket, pointer, moved_to)
    return events
