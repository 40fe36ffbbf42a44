"""Service levels as reactions: a ticket gets its due times as it is filed, and again
when its priority changes (counted from its creation, as before)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from app.events.reactions import Batch, Filing
from app.events.records import Recorded
from app.models import Ticket
from app.sla.policy import due_dates


def _set_due_times(ticket: Ticket) -> None:
    due = due_dates(ticket.priority, ticket.created_at)
    ticket.first_response_due_at = due.first_response_due_at
    ticket.resolution_due_at = due.resolution_due_at


async def due_on_filing(session: AsyncSession, filings: Sequence[Filing]) -> None:
    for filing in filings:
        _set_due_times(filing.ticket)


async def rearm_on_priority_change(batch: Batch, recorded: Sequence[Recorded]) -> None:
    for item in recorded:
        _set_due_times(item.ticket)
