"""Complaints are urgent: each one is handled on a ticket, with an owner and an SLA.

- linked to an open ticket (new, open, pending): its urgency goes up one step and its
  priority (and SLA targets) are derived again, with the usual timeline events;
- linked to a resolved ticket: it is reopened, then raised the same way;
- with no ticket, or a closed one (closed is final): a ticket of its own is opened,
  urgent, for the customer; the agent who captured it owns it, else the closed ticket's
  owner, else the team queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import UnprocessableEntity
from app.events.kinds import EventKind
from app.events.reactions import Batch
from app.events.recorder import record_event
from app.events.records import Recorded
from app.events.visibility import get_visible_ticket
from app.models import Feedback, Level, Role, Ticket, TicketStatus, User, Visibility
from app.tickets.filing import create_ticket
from app.tickets.schemas import AssignReason, AssignRequest, TicketCreate
from app.tickets.service import OWNER_ROLES, apply_changes, assign, change_owner, move_status, touch

_STEP_UP = {Level.LOW: Level.MEDIUM, Level.MEDIUM: Level.HIGH, Level.HIGH: Level.HIGH}
_OPEN = frozenset({TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING})


async def take_up(
    session: AsyncSession, actor: User, feedback: Feedback, now: datetime, search_config: str
) -> Ticket:
    """Put a complaint on a ticket (see the module doc); returns that ticket."""
    linked = None
    if feedback.ticket_id is not None:
        linked = await get_visible_ticket(session, actor, feedback.ticket_id, for_update=True)
    if linked is None or linked.status is TicketStatus.CLOSED:
        ticket = await _open_ticket(session, actor, feedback, linked, search_config)
        feedback.ticket_id = ticket.id
        feedback.origin_ticket_id = None if linked is None else linked.id
        await record_received(session, actor, ticket, feedback, now)
        return ticket

    raised = {"from": linked.urgency.value, "to": _STEP_UP[linked.urgency].value}
    # Its reaction (raise_complained_tickets) reopens and raises the ticket.
    await record_received(session, actor, linked, feedback, now, urgency=raised)
    return linked


async def raise_complained_tickets(batch: Batch, recorded: Sequence[Recorded]) -> None:
    """A reaction to `feedback.received`: a complaint about a ticket puts it back in
    front of us (a resolved one is reopened) one step more urgent, priority and SLA
    targets following, each with its usual timeline event."""
    for item in recorded:
        if item.actor is None or "urgency" not in item.event.data:
            continue  # not a complaint about an existing ticket
        ticket = item.ticket
        if ticket.status is TicketStatus.RESOLVED:
            await move_status(
                batch.session,
                ticket,
                TicketStatus.OPEN,
                actor=item.actor,
                note="Reopened: a complaint was filed about this request.",
                now=item.event.created_at,
            )
        if ticket.status in _OPEN and ticket.urgency is not Level.HIGH:
            await apply_changes(
                batch.session, item.actor, ticket, {"urgency": _STEP_UP[ticket.urgency]}
            )


async def record_received(
    session: AsyncSession,
    actor: User,
    ticket: Ticket,
    feedback: Feedback,
    now: datetime,
    **extra: Any,
) -> None:
    """The `feedback.received` event on the ticket: for agents, linking back to the record."""
    touch(ticket, now)
    await record_event(
        session,
        ticket,
        EventKind.FEEDBACK_RECEIVED,
        actor=actor,
        visibility=Visibility.INTERNAL,
        data={
            "source": "feedback",
            "feedback_id": feedback.id,
            "kind": feedback.kind.value,
            "channel": feedback.channel.value,
            "message_id": feedback.message_id,
            **extra,
        },
    )


async def _open_ticket(
    session: AsyncSession,
    actor: User,
    feedback: Feedback,
    closed: Ticket | None,
    search_config: str,
) -> Ticket:
    if feedback.customer_id is None:
        raise UnprocessableEntity(
            "A complaint is handled on a ticket for its customer: name customer_id or "
            "customer, or link the ticket it is about."
        )
    first_line = feedback.body.strip().splitlines()[0] if feedback.body.strip() else "Complaint"
    description = feedback.body
    if closed is not None:
        description = f"Complaint about the closed request #{closed.id}.\n\n{feedback.body}"
    data = TicketCreate(
        subject=f"Complaint: {first_line}"[:300],
        description=description[:100_000],
        channel=feedback.channel,
        urgency=Level.HIGH,
        impact=Level.MEDIUM if closed is None else closed.impact,
        category=feedback.category,
        tags=list(dict.fromkeys(["complaint", *feedback.tags]))[:20],
        team_id=None if closed is None else closed.team_id,
        requester_id=None if actor.role is Role.CUSTOMER else feedback.customer_id,
    )
    ticket = (await create_ticket(session, actor, data, search_config=search_config)).ticket
    if ticket.owner_id is None and actor.role in OWNER_ROLES:
        # The agent who took the call owns what they captured: nobody is bounced.
        await assign(
            session,
            actor,
            ticket.id,
            AssignRequest(owner_id=actor.id, reason=AssignReason.ROUTING),
            if_match=None,
        )
    elif closed is not None and closed.owner_id is not None and ticket.owner_id is None:
        previous = await session.get(User, closed.owner_id)
        if previous is not None and previous.active and previous.role in OWNER_ROLES:
            await change_owner(session, ticket, previous, actor=None, reason="routing")
    return ticket
