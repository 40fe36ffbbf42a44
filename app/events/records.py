"""The shapes of the write path: an event about to be appended, one just appended, and
how people are written into event data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.events.kinds import EventKind
from app.models import Ticket, TicketEvent, TicketStatus, User, Visibility


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append, taken right after its change (version, owner and status as of
    then: a reaction may change the ticket again before the outbox reads it)."""

    ticket: Ticket
    kind: EventKind
    actor: User | None
    visibility: Visibility
    data: dict[str, Any]
    ticket_version: int
    owner_id: int | None
    at: datetime
    status: TicketStatus

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
        return cls(ticket, kind, actor, visibility, data, version, owner_id, at, ticket.status)


@dataclass(frozen=True, slots=True)
class Recorded:
    """An event just appended, with its ticket's owner and status right after it."""

    ticket: Ticket
    event: TicketEvent
    actor: User | None
    owner_id: int | None
    status: TicketStatus


def person(user: User | None) -> dict[str, Any] | None:
    """How a person is written into event data: enough to render without a lookup."""
    return None if user is None else {"id": user.id, "name": user.name}


def owner_changed_data(
    old: User | None,
    new: User | None,
    reason: str,
    note: str | None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What `ticket.owner_changed` records: who from, who to, and why."""
    return {"from": person(old), "to": person(new), "reason": reason, "note": note, **(extra or {})}


def person_id(value: Any) -> int | None:
    """The id of a person written by `person`, or None."""
    found = value.get("id") if isinstance(value, dict) else None
    return found if isinstance(found, int) else None
