"""Ticket use cases after filing: edit, assign, move through the lifecycle.

Each use case is one transaction (the request's): take the ticket row FOR UPDATE,
check the rule and the If-Match version, change the row and bump its version, append
the timeline events (whose reactions do the rest: app/events/reactions.py). Services
flush and never commit; the request commits once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict, Forbidden, UnprocessableEntity
from app.events.kinds import EventKind
from app.events.recorder import record_event, record_events
from app.events.records import NewEvent, owner_changed_data
from app.events.visibility import get_visible_ticket
from app.models import Role, Ticket, TicketEvent, TicketStatus, User, Visibility
from app.tickets import search
from app.tickets.concurrency import check_if_match
from app.tickets.filing import require_team
from app.tickets.lifecycle import allowed_moves, derive_priority, ordered
from app.tickets.schemas import (
    NOT_NULLABLE_TICKET_FIELDS,
    AssignRequest,
    StatusChange,
    TicketUpdate,
)

OWNER_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR})


def touch(ticket: Ticket, now: datetime) -> None:
    """Every change to a ticket bumps its version (the ETag) and its activity time."""
    ticket.version += 1
    ticket.updated_at = now


async def update_ticket(
    session: AsyncSession,
    actor: User,
    ticket_id: int,
    data: TicketUpdate,
    *,
    if_match: str | None,
    search_config: str,
) -> Ticket:
    changes = _explicit_changes(data)
    ticket = await get_visible_ticket(session, actor, ticket_id, for_update=True)
    check_if_match(if_match, ticket, actor)
    _require_not_closed(ticket)
    if changes.get("team_id") is not None:
        await require_team(session, changes["team_id"])
    await apply_changes(session, actor, ticket, changes, search_config=search_config)
    return ticket


async def apply_changes(
    session: AsyncSession,
    actor: User,
    ticket: Ticket,
    changes: dict[str, Any],
    *,
    search_config: str | None = None,
) -> None:
    """Change fields of a locked ticket: `ticket.updated` with what changed, and
    `ticket.priority_changed` when the priority derived from them moves. A new subject
    is indexed for search with `search_config`."""
    diff: dict[str, dict[str, Any]] = {}
    for field, value in changes.items():
        old = getattr(ticket, field)
        if old != value:
            diff[field] = {"from": _plain(old), "to": _plain(value)}
            setattr(ticket, field, value)
    if not diff:
        return

    touch(ticket, datetime.now(UTC))
    if "subject" in diff:
        if search_config is None:
            raise ValueError("a new subject needs the search configuration to index it")
        ticket.search_public = search.rebuilt_public(
            search_config, ticket.id, ticket.subject, ticket.description
        )
    await record_event(
        session,
        ticket,
        EventKind.TICKET_UPDATED,
        actor=actor,
        visibility=Visibility.INTERNAL,
        data={"changes": diff},
    )
    new_priority = derive_priority(ticket.urgency, ticket.impact)
    if new_priority != ticket.priority:
        old_priority, ticket.priority = ticket.priority, new_priority
        await record_event(
            session,
            ticket,
            EventKind.PRIORITY_CHANGED,
            actor=actor,
            visibility=Visibility.INTERNAL,
            data={"from": old_priority.value, "to": new_priority.value},
        )


async def assign(
    session: AsyncSession, actor: User, ticket_id: int, data: AssignRequest, *, if_match: str | None
) -> Ticket:
    ticket = await get_visible_ticket(session, actor, ticket_id, for_update=True)
    check_if_match(if_match, ticket, actor)
    _require_not_closed(ticket)
    new_owner = None if data.owner_id is None else await _eligible_owner(session, data.owner_id)
    if ticket.owner_id == data.owner_id:
        return ticket
    await change_owner(
        session, ticket, new_owner, actor=actor, reason=data.reason.value, note=data.note
    )
    return ticket


@dataclass(slots=True)
class OwnerChange:
    ticket: Ticket  # locked (or filed in this transaction)
    new_owner: User | None
    extra: dict[str, Any] | None = None


async def change_owner(
    session: AsyncSession,
    ticket: Ticket,
    new_owner: User | None,
    *,
    actor: User | None,
    reason: str,
    note: str | None = None,
    extra: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> TicketEvent:
    """Give a locked ticket a new owner (or the queue): the one way owners change."""
    [event] = await change_owners(
        session,
        [OwnerChange(ticket, new_owner, extra)],
        actor=actor,
        reason=reason,
        note=note,
        now=now,
    )
    return event


async def change_owners(
    session: AsyncSession,
    changes: Sequence[OwnerChange],
    *,
    actor: User | None,
    reason: str,
    note: str | None = None,
    now: datetime | None = None,
) -> list[TicketEvent]:
    """Owner changes for many locked tickets at once, as one batch of writes: each
    timeline gets `ticket.owner_changed` with {from, to, reason, note} and whatever
    `extra` adds. Returns those events, in the order of `changes`."""
    now = now or datetime.now(UTC)
    new = []
    for change in changes:
        ticket = change.ticket
        old_owner = None if ticket.owner_id is None else await session.get(User, ticket.owner_id)
        ticket.owner_id = None if change.new_owner is None else change.new_owner.id
        touch(ticket, now)
        new.append(
            NewEvent.of(
                ticket,
                EventKind.OWNER_CHANGED,
                actor=actor,
                visibility=Visibility.PUBLIC,
                data=owner_changed_data(old_owner, change.new_owner, reason, note, change.extra),
            )
        )
    return await record_events(session, new)


async def change_status(
    session: AsyncSession, actor: User, ticket_id: int, data: StatusChange, *, if_match: str | None
) -> Ticket:
    ticket = await get_visible_ticket(session, actor, ticket_id, for_update=True)
    check_if_match(if_match, ticket, actor)
    allowed = allowed_moves(ticket.status, actor.role)
    if data.status not in allowed:
        moves = ordered(allowed)
        if not actor.role.is_staff and data.status in allowed_moves(ticket.status, Role.AGENT):
            raise Forbidden(
                f"You may only reopen or resolve your ticket; {data.status.value} is for agents."
            )
        raise Conflict(
            f"A {ticket.status.value} ticket cannot move to {data.status.value}; "
            f"allowed: {', '.join(moves) or 'none (closed is final)'}.",
            extra={"allowed": moves, "current": ticket.status.value},
        )
    await move_status(session, ticket, data.status, actor=actor, note=data.note)
    return ticket


async def move_status(
    session: AsyncSession,
    ticket: Ticket,
    to: TicketStatus,
    *,
    actor: User,
    note: str | None = None,
    now: datetime | None = None,
) -> None:
    """Apply a status move already known to be allowed, with its timeline event."""
    now = now or datetime.now(UTC)
    old = ticket.status
    ticket.status = to
    if to is TicketStatus.RESOLVED:
        ticket.resolved_at = now
    elif old is TicketStatus.RESOLVED and to is TicketStatus.OPEN:
        ticket.resolved_at = None
    if ticket.updated_at != now:
        touch(ticket, now)
    await record_event(
        session,
        ticket,
        EventKind.STATUS_CHANGED,
        actor=actor,
        visibility=Visibility.PUBLIC,
        data={"from": old.value, "to": to.value, "note": note},
    )


def _explicit_changes(data: TicketUpdate) -> dict[str, Any]:
    changes = data.model_dump(exclude_unset=True)
    nulled = sorted(k for k, v in changes.items() if v is None and k in NOT_NULLABLE_TICKET_FIELDS)
    if nulled:
        raise UnprocessableEntity(f"These fields cannot be null: {', '.join(nulled)}.")
    return changes


def _plain(value: Any) -> Any:
    return value.value if hasattr(value, "value") else value


def _require_not_closed(ticket: Ticket) -> None:
    if ticket.status is TicketStatus.CLOSED:
        raise Conflict(f"Ticket {ticket.id} is closed, and closed is final.")


async def _eligible_owner(session: AsyncSession, owner_id: int) -> User:
    owner = await session.get(User, owner_id)
    if owner is None or owner.role not in OWNER_ROLES:
        raise UnprocessableEntity(f"User {owner_id} is not an agent or supervisor.")
    if not owner.active:
        raise UnprocessableEntity(f"User {owner_id} is deactivated and cannot own tickets.")
    return owner
