"""Ticket reads: the list with its filters and keyset pages, and the response shape.

One query returns a page of tickets with their requester, owner, team and the newest
event the viewer may see (last_action), so a page costs one round trip.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, Select, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.common.pagination import decode_cursor, encode_cursor
from app.errors import BadRequest
from app.events.schemas import last_action, owner_change
from app.models import Team, Ticket, TicketEvent, User
from app.sla.policy import is_breached
from app.tickets.schemas import PersonRef, RequesterRef, SlaOut, TicketFilters, TicketOut
from app.tickets.visibility import sees_internal, ticket_clause

_Requester = aliased(User, name="requester")
_Owner = aliased(User, name="owner")
_LastEvent = aliased(TicketEvent, name="last_event")
_Actor = aliased(User, name="last_actor")
_OwnerEvent = aliased(TicketEvent, name="owner_event")

_CURSOR_KEYS = frozenset({"u", "i"})


_DetailRow = Row[
    Ticket, User, User | None, Team | None, TicketEvent | None, User | None, TicketEvent | None
]


def _with_details(
    viewer: User,
) -> Select[Ticket, User, User, Team, TicketEvent, User, TicketEvent]:
    last_event_id = Ticket.last_event_id if sees_internal(viewer) else Ticket.last_public_event_id
    return (
        select(Ticket, _Requester, _Owner, Team, _LastEvent, _Actor, _OwnerEvent)
        .join(_Requester, _Requester.id == Ticket.requester_id)
        .outerjoin(_Owner, _Owner.id == Ticket.owner_id)
        .outerjoin(Team, Team.id == Ticket.team_id)
        .outerjoin(_LastEvent, _LastEvent.id == last_event_id)
        .outerjoin(_Actor, _Actor.id == _LastEvent.actor_id)
        .outerjoin(_OwnerEvent, _OwnerEvent.id == Ticket.last_owner_event_id)
        .where(ticket_clause(viewer))
    )


def present(row: _DetailRow, viewer: User, now: datetime | None = None) -> TicketOut:
    ticket, requester, owner, team, event, actor, owner_event = row
    now = now or datetime.now(UTC)
    return TicketOut(
        id=ticket.id,
        subject=ticket.subject,
        description=ticket.description,
        status=ticket.status,
        channel=ticket.channel,
        urgency=ticket.urgency,
        impact=ticket.impact,
        priority=ticket.priority,
        category=ticket.category,
        tags=ticket.tags,
        requester=RequesterRef(id=requester.id, name=requester.name, email=requester.email),
        owner=None if owner is None else PersonRef(id=owner.id, name=owner.name),
        team=None if team is None else PersonRef(id=team.id, name=team.name),
        external_ref=ticket.external_ref,
        version=ticket.version,
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        first_response_at=ticket.first_response_at,
        resolved_at=ticket.resolved_at,
        last_action=None if event is None else last_action(event, actor),
        last_owner_change=None if owner_event is None else owner_change(owner_event),
        sla=SlaOut(
            first_response_due_at=ticket.first_response_due_at,
            resolution_due_at=ticket.resolution_due_at,
            breached=is_breached(ticket, now),
        ),
    )


async def read_ticket(session: AsyncSession, viewer: User, ticket_id: int) -> TicketOut | None:
    row = (await session.execute(_with_details(viewer).where(Ticket.id == ticket_id))).first()
    return None if row is None else present(row, viewer)


def _search(viewer: User, text: str, config: str) -> Any:
    query = func.websearch_to_tsquery(config, text)
    if sees_internal(viewer):
        return or_(
            Ticket.search_public.bool_op("@@")(query), Ticket.search_internal.bool_op("@@")(query)
        )
    return Ticket.search_public.bool_op("@@")(query)


async def list_tickets(
    session: AsyncSession,
    viewer: User,
    filters: TicketFilters,
    *,
    limit: int,
    cursor: str | None,
    search_config: str,
) -> tuple[list[TicketOut], str | None]:
    """A page of tickets, newest activity first. Inserts never shift a page already read."""
    query = _with_details(viewer)
    if filters.status:
        query = query.where(Ticket.status.in_(filters.status))
    if filters.priority:
        query = query.where(Ticket.priority.in_(filters.priority))
    if filters.owner_id is not None:
        query = query.where(Ticket.owner_id == filters.owner_id)
    if filters.team_id is not None:
        query = query.where(Ticket.team_id == filters.team_id)
    if filters.requester_id is not None:
        query = query.where(Ticket.requester_id == filters.requester_id)
    if filters.category is not None:
        query = query.where(Ticket.category == filters.category)
    if filters.tag is not None:
        query = query.where(Ticket.tags.contains([filters.tag]))
    if filters.channel is not None:
        query = query.where(Ticket.channel == filters.channel)
    if filters.updated_since is not None:
        query = query.where(Ticket.updated_at >= filters.updated_since)
    if filters.q:
        query = query.where(_search(viewer, filters.q, search_config))
    if cursor is not None:
        position = decode_cursor(cursor, _CURSOR_KEYS)
        try:
            updated_at = datetime.fromisoformat(str(position["u"]))
            ticket_id = int(position["i"])
        except (TypeError, ValueError):
            raise BadRequest("The cursor is not valid; start again without one.") from None
        query = query.where(tuple_(Ticket.updated_at, Ticket.id) < tuple_(updated_at, ticket_id))
    query = query.order_by(Ticket.updated_at.desc(), Ticket.id.desc()).limit(limit)
    rows: Sequence[_DetailRow] = (await session.execute(query)).all()
    now = datetime.now(UTC)
    items = [present(row, viewer, now) for row in rows]
    next_cursor = None
    if len(items) == limit:
        last = items[-1]
        next_cursor = encode_cursor({"u": last.updated_at.isoformat(), "i": last.id})
    return items, next_cursor
