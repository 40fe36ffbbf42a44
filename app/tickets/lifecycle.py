"""The rules of a ticket's life: derived priority and the allowed status moves."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.models import Level, Priority, Role, Ticket, TicketStatus

_PRIORITY: dict[tuple[Level, Level], Priority] = {
    # (urgency, impact)
    (Level.HIGH, Level.HIGH): Priority.CRITICAL,
    (Level.HIGH, Level.MEDIUM): Priority.HIGH,
    (Level.HIGH, Level.LOW): Priority.MEDIUM,
    (Level.MEDIUM, Level.HIGH): Priority.HIGH,
    (Level.MEDIUM, Level.MEDIUM): Priority.MEDIUM,
    (Level.MEDIUM, Level.LOW): Priority.LOW,
    (Level.LOW, Level.HIGH): Priority.MEDIUM,
    (Level.LOW, Level.MEDIUM): Priority.LOW,
    (Level.LOW, Level.LOW): Priority.PLANNING,
}


def derive_priority(urgency: Level, impact: Level) -> Priority:
    return _PRIORITY[(urgency, impact)]


_S = TicketStatus
ALLOWED_MOVES: dict[TicketStatus, frozenset[TicketStatus]] = {
    # new -> resolved is first-contact resolution; closed is final.
    _S.NEW: frozenset({_S.OPEN, _S.PENDING, _S.RESOLVED}),
    _S.OPEN: frozenset({_S.PENDING, _S.RESOLVED}),
    _S.PENDING: frozenset({_S.OPEN, _S.RESOLVED}),
    _S.RESOLVED: frozenset({_S.OPEN, _S.CLOSED}),
    _S.CLOSED: frozenset(),
}

# What the people who asked may do to their own ticket: say it is solved, or reopen a
# solved one. Only staff open a new ticket or take a pending one off hold; the
# requester's reply does the latter (status_after_requester_reply).
_REQUESTER_MOVES: dict[TicketStatus, frozenset[TicketStatus]] = {
    _S.RESOLVED: frozenset({_S.OPEN}),
}
_REQUESTER_RESOLVE = frozenset({_S.RESOLVED})


def allowed_moves(current: TicketStatus, role: Role) -> frozenset[TicketStatus]:
    moves = ALLOWED_MOVES[current]
    if role.is_staff:
        return moves
    return moves & _REQUESTER_MOVES.get(current, _REQUESTER_RESOLVE)


def status_after_requester_reply(current: TicketStatus) -> TicketStatus | None:
    """A reply from the customer's side puts a waiting or solved case back in front of us."""
    if current in (_S.PENDING, _S.RESOLVED):
        return _S.OPEN
    return None


def ordered(statuses: frozenset[TicketStatus]) -> list[str]:
    order = list(TicketStatus)
    return [s.value for s in sorted(statuses, key=order.index)]


def is_breached(ticket: Ticket, now: datetime) -> bool:
    """A target was missed: answered late, resolved late, or overdue and still waiting."""
    return breached_at(
        ticket.first_response_due_at,
        ticket.first_response_at,
        ticket.resolution_due_at,
        ticket.resolved_at,
        now,
    )


def breached_at(
    first_due: datetime | None,
    answered: datetime | None,
    resolve_due: datetime | None,
    resolved: datetime | None,
    now: datetime,
) -> bool:
    """is_breached from the four columns alone (reads that select columns, not rows)."""
    if first_due is not None and (answered or now) > first_due:
        return True
    return resolve_due is not None and (resolved or now) > resolve_due


def sla_remaining(m: Mapping[str, Any], now: datetime) -> int | None:
    """Seconds to the soonest due time still to be met, from the stored columns;
    counted from when the clock stopped while it is paused."""
    candidates = [
        m["first_response_due_at"] if m["first_response_at"] is None else None,
        m["next_response_due_at"],
        m["resolution_due_at"] if m["resolved_at"] is None else None,
    ]
    due: datetime | None = min((c for c in candidates if c is not None), default=None)
    if due is None or m["status"] in ("resolved", "closed"):
        return None
    since: datetime = m["sla_paused_since"] or now
    # Rounded up: a ticket just filed shows its whole target, read now or a moment later.
    return math.ceil((due - since).total_seconds())
