"""Service levels as reactions: every new ticket lands in a team and gets its policy and
due times as it is filed; the clock is retargeted when the priority, team or category
changes, pauses while the ticket is pending, resumes when it comes back, and re-arms
the next response after each customer message (app/sla/clock.py has the moves).

`sla.paused` and `sla.resumed` are internal events: the customer sees the status move
itself, not the bookkeeping of the clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.events.kinds import EventKind
from app.events.reactions import Batch, Filing
from app.events.recorder import record_event
from app.events.records import Recorded
from app.models import (
    STAFF_ROLES,
    AssignmentMode,
    Level,
    Priority,
    Role,
    Team,
    TeamMember,
    Ticket,
    User,
    Visibility,
)
from app.notifications.outbox import enqueue_personal_notice
from app.notifications.rules import NoticeTopic
from app.sla import clock
from app.sla.book import Applied, PolicyBook, clock_of, queue_due, store
from app.sla.calendar import BeyondHorizon
from app.sla.notices import ANSWER_TIME, BREACH_ALERT_KIND, answer_time_data
from app.tickets.lifecycle import derive_priority


@dataclass(slots=True)
class _Setup:
    default_team: str = "General"
    warning_ratio: float = 0.8


SETUP = _Setup()

# The key naming the ticket's policy in `ticket.created` data and, for a move to
# another policy, in a `ticket.updated`'s changes.
POLICY = "sla_policy_id"


def configure(default_team: str, warning_ratio: float) -> None:
    SETUP.default_team = default_team
    SETUP.warning_ratio = warning_ratio


def _store(ticket: Ticket, moved: clock.SlaClock, applied: Applied) -> None:
    store(ticket, moved, applied, SETUP.warning_ratio)


# -- filing -------------------------------------------------------------------------


async def _default_team(session: AsyncSession) -> Team:
    """The catch-all team a fresh install has; made again if someone removed it. Made in
    a transaction of its own, committed at once: made in the filing's, it would hold
    every other filing waiting on its row until that one commits."""
    name = SETUP.default_team
    found = select(Team).where(Team.name == name)
    team = await session.scalar(found)
    if team is not None:
        return team
    connection = await session.connection()
    async with connection.engine.begin() as own:
        await own.execute(
            insert(Team)
            .values(name=name, assignment=AssignmentMode.ROUND_ROBIN)
            .on_conflict_do_nothing(index_elements=[Team.name])
        )
    team = await session.scalar(found)
    assert team is not None  # committed: a new statement of this transaction sees it
    return team


async def place_in_team(session: AsyncSession, filings: Sequence[Filing]) -> None:
    """No ticket without a team: one no rule places and nobody names goes to the
    catch-all team, and is routed by its mode like any other."""
    default: Team | None = None
    for filing in filings:
        if filing.team is not None:
            continue
        if default is None:
            default = await _default_team(session)
        filing.team = default
        filing.ticket.team_id = default.id


async def due_on_filing(session: AsyncSession, filings: Sequence[Filing]) -> None:
    """Its policy and due times; and the answer time its acknowledgement states, in the
    requester's time zone (the outbox words it in their language: app/sla/notices.py)."""
    book = await PolicyBook.load(session)
    for filing in filings:
        ticket = filing.ticket
        ticket.sla_policy_id = book.policy_for(ticket)
        # On the timeline, so that what is counted on the policy's calendar (the
        # metrics' business time) can be derived from the events alone.
        filing.created_data[POLICY] = ticket.sla_policy_id
        applied = book.applied(ticket.sla_policy_id, ticket.priority)
        try:
            started = clock.start(applied.calendar, ticket.created_at, applied.targets)
        except BeyondHorizon:  # a calendar that does not open in ten years promises nothing
            started = clock.SlaClock()
        _store(ticket, started, applied)
        due = ticket.first_response_due_at
        if due is None:
            continue
        requester = await session.get(User, ticket.requester_id)
        filing.created_data[ANSWER_TIME] = answer_time_data(
            applied.calendar, due, filing.now, "UTC" if requester is None else requester.timezone
        )


# -- changes ------------------------------------------------------------------------


def _changed_fields(item: Recorded) -> dict[str, Any]:
    changes = item.event.data.get("changes")
    return changes if isinstance(changes, dict) else {}


async def retarget(batch: Batch, recorded: Sequence[Recorded]) -> None:
    """The priority, team or category changed: perhaps another policy, other targets.
    First response and resolution are counted again from creation (pauses included);
    a waiting next response moves by the change in its target."""
    old_priority: dict[int, Priority] = {}
    tickets: dict[int, Ticket] = {}
    for item in recorded:
        ticket = item.ticket
        if item.event.kind == EventKind.PRIORITY_CHANGED:
            old_priority.setdefault(ticket.id, Priority(item.event.data["from"]))
        elif not {"team_id", "category", "channel"} & _changed_fields(item).keys():
            continue
        tickets[ticket.id] = ticket
    if not tickets:
        return
    book = await PolicyBook.load(batch.session)
    for ticket in tickets.values():
        old_policy = ticket.sla_policy_id
        before = book.applied(old_policy, old_priority.get(ticket.id, ticket.priority))
        ticket.sla_policy_id = book.policy_for(ticket)
        if ticket.sla_policy_id != old_policy:
            await _record_policy_change(batch, ticket, old_policy)
        after = book.applied(ticket.sla_policy_id, ticket.priority)
        try:
            moved = clock.retarget(
                clock_of(ticket), after.calendar, ticket.created_at, before.targets, after.targets
            )
        except BeyondHorizon:
            moved = clock.SlaClock(paused_since=ticket.sla_paused_since)
        _store(ticket, moved, after)


async def _record_policy_change(batch: Batch, ticket: Ticket, old_policy: int | None) -> None:
    """The ticket is under another policy from now: said on the timeline (internal, as
    part of the change that moved it), so the calendar its times count on from here is
    in the events."""
    await record_event(
        batch.session,
        ticket,
        EventKind.TICKET_UPDATED,
        actor=None,
        visibility=Visibility.INTERNAL,
        data={
            "changes": {POLICY: {"from": old_policy, "to": ticket.sla_policy_id}},
            "reason": "sla_policy",
        },
    )


def _due_data(ticket: Ticket) -> dict[str, Any]:
    def iso(moment: datetime | None) -> str | None:
        return None if moment is None else moment.isoformat()

    return {
        "first_response_due_at": iso(ticket.first_response_due_at),
        "next_response_due_at": iso(ticket.next_response_due_at),
        "resolution_due_at": iso(ticket.resolution_due_at),
    }


async def _resume(batch: Batch, book: PolicyBook, ticket: Ticket, at: datetime) -> None:
    current = clock_of(ticket)
    began = current.paused_since
    if began is None:
        return
    applied = book.applied(ticket.sla_policy_id, ticket.priority)
    _store(ticket, clock.resume(current, applied.calendar, at), applied)
    await record_event(
        batch.session,
        ticket,
        EventKind.SLA_RESUMED,
        actor=None,
        visibility=Visibility.INTERNAL,
        data={
            "paused_since": began.isoformat(),
            "paused_seconds": round(
                applied.calendar.business_time_between(began, at).total_seconds()
            ),
            **_due_data(ticket),
        },
    )


async def pause_and_resume(batch: Batch, recorded: Sequence[Recorded]) -> None:
    """Pending stops the clock; any move away from pending restarts it. Every status
    move also sets the due time the queue sorts by (none once resolved)."""
    book: PolicyBook | None = None
    for item in recorded:
        ticket, to = item.ticket, item.event.data.get("to")
        at = item.event.created_at
        if to == "pending" and ticket.sla_paused_since is None:
            book = book or await PolicyBook.load(batch.session)
            applied = book.applied(ticket.sla_policy_id, ticket.priority)
            _store(ticket, clock.pause(clock_of(ticket), at), applied)
            await record_event(
                batch.session,
                ticket,
                EventKind.SLA_PAUSED,
                actor=None,
                visibility=Visibility.INTERNAL,
                data={"paused_since": at.isoformat()},
            )
        elif to != "pending" and ticket.sla_paused_since is not None:
            book = book or await PolicyBook.load(batch.session)
            await _resume(batch, book, ticket, at)
        else:
            ticket.sla_due_at = queue_due(ticket, clock_of(ticket))


async def on_messages(batch: Batch, recorded: Sequence[Recorded]) -> None:
    """A customer's public message arms the next response (and ends a pause: the
    status move that follows finds the clock running); a public staff reply answers
    it. Internal notes change nothing."""
    public = [r for r in recorded if r.event.data.get("visibility") == Visibility.PUBLIC.value]
    if not public:
        return
    book = await PolicyBook.load(batch.session)
    for item in public:
        data, ticket = item.event.data, item.ticket
        if Role(str(data.get("author_role"))) in STAFF_ROLES:
            applied = book.applied(ticket.sla_policy_id, ticket.priority)
            _store(ticket, clock.staff_replied(clock_of(ticket)), applied)
            continue
        if ticket.status in ("resolved", "closed") and ticket.sla_paused_since is None:
            continue  # reopened by the status move that follows, then counted anew
        at = item.event.created_at
        await _resume(batch, book, ticket, at)
        applied = book.applied(ticket.sla_policy_id, ticket.priority)
        moved = clock.customer_wrote(clock_of(ticket), applied.calendar, at, applied.targets)
        _store(ticket, moved, applied)


# -- breaches -----------------------------------------------------------------------

_UP: dict[Level, Level] = {Level.LOW: Level.MEDIUM, Level.MEDIUM: Level.HIGH}


async def act_on_breaches(batch: Batch, recorded: Sequence[Recorded]) -> None:
    """What a missed target's policy asks besides the timeline (the escalation is
    continuity's): the team's supervisors told, or the priority raised one step."""
    for item in recorded:
        actions = item.event.data.get("on_breach") or ()
        ticket = item.ticket
        if "raise_priority" in actions:
            await _raise_priority(batch, ticket, item.event.created_at)
        if "notify_supervisors" in actions:
            await _notify_supervisors(batch, ticket, item.event.data)


async def _raise_priority(batch: Batch, ticket: Ticket, now: datetime) -> None:
    """One step up the urgency x impact matrix: more urgent, or, at the top of urgency,
    wider impact. Critical stays critical."""
    if ticket.urgency in _UP:
        field, old, new = "urgency", ticket.urgency, _UP[ticket.urgency]
    elif ticket.impact in _UP:
        field, old, new = "impact", ticket.impact, _UP[ticket.impact]
    else:
        return
    setattr(ticket, field, new)
    ticket.version += 1
    ticket.updated_at = now
    await record_event(
        batch.session,
        ticket,
        EventKind.TICKET_UPDATED,
        actor=None,
        visibility=Visibility.INTERNAL,
        data={"changes": {field: {"from": old.value, "to": new.value}}, "reason": "sla_breach"},
    )
    priority = derive_priority(ticket.urgency, ticket.impact)
    if priority != ticket.priority:
        previous, ticket.priority = ticket.priority, priority
        await record_event(
            batch.session,
            ticket,
            EventKind.PRIORITY_CHANGED,
            actor=None,
            visibility=Visibility.INTERNAL,
            data={"from": previous.value, "to": priority.value},
        )


async def _notify_supervisors(batch: Batch, ticket: Ticket, data: dict[str, Any]) -> None:
    """The supervisors of the ticket's team (none there: every supervisor)."""
    query = select(User.id).where(User.role == Role.SUPERVISOR, User.active.is_(True))
    if ticket.team_id is not None:
        in_team = query.join(TeamMember, TeamMember.user_id == User.id).where(
            TeamMember.team_id == ticket.team_id
        )
        recipients = list(await batch.session.scalars(in_team))
    else:
        recipients = []
    if not recipients:
        recipients = list(await batch.session.scalars(query))
    for recipient in sorted(recipients):
        await enqueue_personal_notice(
            batch.session,
            recipient,
            NoticeTopic.SLA,
            kind=BREACH_ALERT_KIND,
            data={
                "ticket": {"id": ticket.id, "subject": ticket.subject},
                "target": data.get("target"),
                "due_at": data.get("due_at"),
            },
            ticket=ticket,
        )
