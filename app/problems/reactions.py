"""Resolving a problem resolves its incidents: a reaction registered in app/wiring.py.

When a problem ticket is resolved, each incident linked to it that is still waiting
(new, open or pending) is resolved with it, by the same person, in the same
transaction. Each moves through the ordinary status change, so its requester is told
once, on their own ticket, as for any resolution (and gets its satisfaction survey).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select

from app.events.reactions import Batch
from app.events.records import Recorded
from app.models import LinkRelation, Ticket, TicketLink, TicketStatus
from app.tickets.service import move_status

_WAITING = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING)


async def resolve_incidents(batch: Batch, recorded: Sequence[Recorded]) -> None:
    resolved = {
        item.ticket.id: item
        for item in recorded
        if item.event.data.get("to") == TicketStatus.RESOLVED.value
        and item.event.data.get("from") != TicketStatus.RESOLVED.value
        and item.actor is not None
    }
    if not resolved:
        return
    incidents = await batch.session.execute(
        select(TicketLink.ticket_id, Ticket)
        .join(Ticket, Ticket.id == TicketLink.linked_id)
        .where(
            TicketLink.ticket_id.in_(resolved),
            TicketLink.relation == LinkRelation.INCIDENT,
            Ticket.status.in_(_WAITING),
        )
        .order_by(Ticket.id)
        .with_for_update(of=Ticket)
        .execution_options(populate_existing=True)
    )
    now = datetime.now(UTC)
    for problem_id, incident in incidents.all():
        if incident.status not in _WAITING:
            continue
        actor = resolved[problem_id].actor
        assert actor is not None
        await move_status(batch.session, incident, TicketStatus.RESOLVED, actor=actor, now=now)
