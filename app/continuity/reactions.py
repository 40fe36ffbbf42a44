"""Continuity's reactions: a new ticket gets an owner as it is filed, and every new
owner gets a brief, so the customer never explains twice."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from app.continuity.brief import BriefBuilder, BriefPerson
from app.continuity.escalation import escalate_locked
from app.continuity.routing import Router
from app.continuity.schemas import EscalateRequest
from app.continuity.wording import BRIEF_KIND
from app.errors import ProblemError
from app.events.kinds import EventKind
from app.events.reactions import Batch, Filing
from app.events.records import NewEvent, Recorded, owner_changed_data, person_id
from app.models import Ticket, Visibility
from app.notifications.outbox import PERSONAL_NOTICES, PersonalNotice
from app.notifications.rules import NoticeTopic
from app.tickets.schemas import AssignReason


async def route_new_tickets(session: AsyncSession, filings: Sequence[Filing]) -> None:
    """Routing on arrival: the team's mode picks an owner before the row is inserted, so
    it goes in as it ends up (owner, version 2) and the UPDATE that later points it at
    its events changes no indexed column (a HOT update)."""
    router: Router | None = None
    for filing in filings:
        if filing.team is None:
            continue
        if router is None:
            router = Router(session, filing.now)
        router.knows(filing.team)
        owner = await router.pick(filing.ticket, filing.team.id)
        if owner is None:
            continue
        ticket = filing.ticket
        ticket.owner_id = owner.id
        ticket.version += 1
        filing.owner = owner
        filing.followups.append(
            NewEvent(
                ticket,
                EventKind.OWNER_CHANGED,
                None,
                Visibility.PUBLIC,
                owner_changed_data(None, owner, "routing", None),
                ticket_version=ticket.version,
                owner_id=owner.id,
                at=filing.now,
                status=ticket.status,
            )
        )


async def brief_new_owners(batch: Batch, recorded: Sequence[Recorded]) -> None:
    """Every new owner gets a brief with their notice (it joins the same unsent
    message), unless they took the ticket themselves. Tickets filed in this transaction
    are briefed from the batch's events, in memory."""
    briefed: list[tuple[Ticket, BriefPerson]] = []
    # A handover's brief tells what was done before the absence took the ticket; the
    # notice it rides with says why it came (an assignment's brief shows the assignment).
    handovers = {
        r.event.id for r in recorded if r.event.data.get("reason") == AssignReason.UNAVAILABILITY
    }
    for item in recorded:
        to = item.event.data.get("to")
        owner_id = person_id(to)
        if owner_id is None or (item.actor is not None and item.actor.id == owner_id):
            continue
        assert isinstance(to, dict)
        briefed.append((item.ticket, BriefPerson(id=owner_id, name=str(to.get("name")))))
    if not briefed:
        return
    now = recorded[-1].event.created_at
    tickets = [ticket for ticket, _ in briefed]
    if all(t.id in batch.fresh for t in tickets):
        events = [r.event for r in batch.recorded]
        builder = await BriefBuilder.from_events(batch.session, tickets, events, now)
    else:
        builder = await BriefBuilder.load(batch.session, tickets, now, leave_out=handovers)
    for ticket, owner in briefed:
        brief = builder.brief(ticket, owner)
        batch.leave(
            PERSONAL_NOTICES,
            PersonalNotice(
                owner.id,
                NoticeTopic.ASSIGNMENT,
                kind=BRIEF_KIND,
                data=brief.model_dump(mode="json"),
                ticket=ticket,
            ),
        )


async def escalate_breaches(batch: Batch, recorded: Sequence[Recorded]) -> None:
    """A missed target whose policy says `escalate`: up the team's escalation path (its
    next level, else a supervisor), the customer told who has it now, as when an agent
    escalates. A ticket that cannot go further stays where it is: the breach is on its
    timeline and its team was told."""
    for item in recorded:
        if "escalate" not in (item.event.data.get("on_breach") or ()):
            continue
        try:  # every refusal comes before anything is written
            await escalate_locked(
                batch.session,
                item.ticket,
                None,
                EscalateRequest(note="A service level target was missed."),
            )
        except ProblemError:
            continue
