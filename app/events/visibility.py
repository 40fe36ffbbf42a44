"""What each caller may see: the one place every ticket, message and event read is narrowed.

- staff (admin, supervisor, agent): every ticket, every message and event;
- customers: the tickets they requested, and only their public messages and events;
- integrations: the tickets they created, public messages and events only.

A ticket the caller may not see is reported as not found (404), never as forbidden,
so its existence is not revealed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVarTuple

from sqlalchemy import ColumnElement, Select, false, select, true, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import NotFound
from app.models import (
    LinkRelation,
    Message,
    Role,
    Ticket,
    TicketEvent,
    TicketLink,
    User,
    Visibility,
)


def ticket_clause(viewer: User) -> ColumnElement[bool]:
    if viewer.role.is_staff:
        return true()
    if viewer.role is Role.CUSTOMER:
        return Ticket.requester_id == viewer.id
    if viewer.role is Role.INTEGRATION:
        return Ticket.created_by_id == viewer.id
    return false()


def sees_internal(viewer: User) -> bool:
    return viewer.role.is_staff


def message_clause(viewer: User) -> ColumnElement[bool]:
    return true() if sees_internal(viewer) else Message.visibility == Visibility.PUBLIC


def event_clause(viewer: User) -> ColumnElement[bool]:
    return true() if sees_internal(viewer) else TicketEvent.visibility == Visibility.PUBLIC


def visible_tickets(viewer: User) -> Select[Ticket]:
    return select(Ticket).where(ticket_clause(viewer))


async def get_visible_ticket(
    session: AsyncSession, viewer: User, ticket_id: int, *, for_update: bool = False
) -> Ticket:
    """The ticket if the viewer may see it, else 404. With for_update, the row is locked."""
    query = visible_tickets(viewer).where(Ticket.id == ticket_id)
    if for_update:
        # Re-read the row under the lock even if this session already holds a copy.
        query = query.with_for_update().execution_options(populate_existing=True)
    ticket = await session.scalar(query)
    if ticket is None:
        raise NotFound(f"Ticket {ticket_id} does not exist.")
    return ticket


async def lock_visible_tickets(
    session: AsyncSession, viewer: User, ticket_ids: Sequence[int]
) -> dict[int, Ticket]:
    """Several tickets the viewer may see, locked in id order (so two writers locking the
    same tickets never wait for each other in a circle); 404 for any missing one."""
    rows = await session.scalars(
        visible_tickets(viewer)
        .where(Ticket.id.in_(ticket_ids))
        .order_by(Ticket.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    found = {ticket.id: ticket for ticket in rows}
    for ticket_id in ticket_ids:
        if ticket_id not in found:
            raise NotFound(f"Ticket {ticket_id} does not exist.")
    return found


async def timeline_ticket_ids(session: AsyncSession, viewer: User, ticket_id: int) -> list[int]:
    """The tickets whose messages and events make up this ticket's timeline for the
    viewer: the ticket itself, then the duplicates merged into it that the viewer may
    see on their own.

    A merge is a union at read time (the duplicate's rows stay with the duplicate). Each
    row keeps its own ticket's audience: staff see every duplicate; a customer sees the
    rows of a duplicate only if it is theirs, so merging another customer's ticket into
    theirs never shows them the other customer's conversation (nor the reverse)."""
    merged: Sequence[int] = (
        await session.scalars(
            select(TicketLink.linked_id)
            .join(Ticket, Ticket.id == TicketLink.linked_id)
            .where(
                TicketLink.ticket_id == ticket_id,
                TicketLink.relation == LinkRelation.MERGED_FROM,
                ticket_clause(viewer),
            )
            .order_by(TicketLink.linked_id)
        )
    ).all()
    return [ticket_id, *merged]


Row = TypeVarTuple("Row")


def narrow_to_timeline(
    query: Select[*Row],
    model: type[TicketEvent] | type[Message],
    ticket_ids: Sequence[int],
    visible: ColumnElement[bool],
    *,
    after_id: int | None,
    limit: int,
) -> Select[*Row]:
    """A page of a timeline's rows (`model`: events or messages) over `ticket_ids`, in id
    order: `query` narrowed, ordered and limited.

    One ticket keeps the plan every unmerged timeline has always had. Several are read
    as one ordered index scan per ticket, each stopping at `limit`, merged: `ticket_id
    IN (...) ORDER BY id` would have PostgreSQL walk the whole table's primary key,
    filtering (measured in bench/CHANNELS.md); and each part stays on its ticket's
    shard when the tables are distributed by ticket."""
    if len(ticket_ids) == 1:
        query = query.where(model.ticket_id == ticket_ids[0], visible)
        if after_id is not None:
            query = query.where(model.id > after_id)
    else:
        parts = []
        for ticket_id in ticket_ids:
            part = select(model.id).where(model.ticket_id == ticket_id, visible)
            if after_id is not None:
                part = part.where(model.id > after_id)
            parts.append(part.order_by(model.id).limit(limit))
        page = union_all(*parts).subquery("page")
        query = query.join(page, page.c.id == model.id)
    return query.order_by(model.id).limit(limit)
