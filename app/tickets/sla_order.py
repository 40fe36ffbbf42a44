"""The queue by service level (`GET /tickets?sort=sla_due`): the ticket whose next due
time comes soonest first.

The key is `sla_due_at`, which the SLA reactions keep on the row: the soonest due time
still to be met (first response until given, a waiting next response, resolution),
and null when no clock runs. So a supervisor sees, top down: tickets already past a
due time (the most overdue first), then the others by how soon they are due; then
the tickets whose clock stands still (pending, waiting on the customer; resolved or
closed; or with no target), by id. Ties by id. Pages are keyset ranges of
(sla_due_at, id), served by the `ix_tickets_sla_due` index in this very order
(ascending, nulls last), so a first page reads `limit` index entries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, tuple_

from app.common.pagination import decode_cursor, encode_cursor
from app.common.types import MAX_BIGINT
from app.errors import BadRequest
from app.models import Ticket

CURSOR_KEYS = frozenset({"d", "i"})
ORDER = (Ticket.sla_due_at.asc().nulls_last(), Ticket.id.asc())

Position = tuple[datetime | None, int]


def position(cursor: str) -> Position:
    decoded = decode_cursor(cursor, CURSOR_KEYS)
    try:
        due = None if decoded["d"] is None else datetime.fromisoformat(str(decoded["d"]))
        ticket_id = int(decoded["i"])
    except (TypeError, ValueError):
        due, ticket_id = None, 0
    if (due is not None and due.tzinfo is None) or not 1 <= ticket_id <= MAX_BIGINT:
        raise BadRequest("The cursor is not valid; start again without one.")
    return due, ticket_id


def after(position: Position) -> ColumnElement[bool]:
    due, ticket_id = position
    if due is None:
        return and_(Ticket.sla_due_at.is_(None), Ticket.id > ticket_id)
    return or_(
        tuple_(Ticket.sla_due_at, Ticket.id) > tuple_(due, ticket_id), Ticket.sla_due_at.is_(None)
    )


def next_cursor(last: Any) -> str:
    due: datetime | None = last[1]
    return encode_cursor({"d": None if due is None else due.isoformat(), "i": last[0]})
