"""The handover brief: what a new owner needs so the customer never explains twice.

Built from the timeline alone, with no language model: the problem as first stated,
the latest customer message, what was done so far (status changes, public replies,
internal notes, earlier handovers), the open questions (why it is pending), and where
the ticket stands against its SLA. Every new owner gets it with their notice;
`GET /tickets/{id}/brief` returns it to staff.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from app.events.kinds import EventKind
from app.events.summaries import summarize
from app.models import (
    Channel,
    Message,
    Priority,
    Role,
    Team,
    Ticket,
    TicketEvent,
    TicketStatus,
    User,
    Visibility,
)
from app.tickets.lifecycle import is_breached

MAX_STEPS = 20  # the latest steps; a brief is for reading in a minute
PROBLEM_CHARS = 2000
EXCERPT_CHARS = 600
_STEP_KINDS = (EventKind.STATUS_CHANGED, EventKind.MESSAGE_CREATED, EventKind.OWNER_CHANGED)
_REQUESTER_SIDE = ("customer", "integration")
# A running target is at risk in the last quarter of its window.
_AT_RISK_SHARE = 0.25


class BriefPerson(BaseModel):
    id: int
    name: str


class BriefText(BaseModel):
    at: datetime
    author: str | None
    text: str


class BriefStep(BaseModel):
    at: datetime
    kind: str
    visibility: Visibility
    summary: str
    text: str | None = None


class BriefSla(BaseModel):
    state: Literal["on_track", "at_risk", "breached", "met"]
    breached: bool
    next_target: Literal["first_response", "resolution"] | None
    next_due_at: datetime | None
    first_response_due_at: datetime | None
    first_response_at: datetime | None
    resolution_due_at: datetime | None
    resolved_at: datetime | None


class BriefEarlier(BaseModel):
    """The closed case a follow-up continues: what it was and how it ended."""

    ticket_id: int
    subject: str
    problem: str
    resolved_at: datetime | None
    last_reply: BriefText | None


class BriefOut(BaseModel):
    ticket_id: int
    subject: str
    status: TicketStatus
    priority: Priority
    category: str | None
    channel: Channel
    requester: BriefPerson
    owner: BriefPerson | None
    team: BriefPerson | None
    problem: BriefText
    latest_customer_message: BriefText | None
    done: list[BriefStep]
    done_count: int
    open_questions: list[str]
    waiting_on: Literal["customer", "us"] | None
    sla: BriefSla
    follow_up_of: BriefEarlier | None = None
    generated_at: datetime


@dataclass
class _Timeline:
    steps: list[tuple[TicketEvent, str | None]] = field(default_factory=list)
    # Events the requester's side made (their replies, and the reopening they cause).
    by_requester: set[int] = field(default_factory=set)
    bodies: dict[int, str] = field(default_factory=dict)


def _excerpt(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def _message_id(event: TicketEvent) -> int | None:
    value = event.data.get("message_id")
    return value if isinstance(value, int) else None


def _from_requester_side(event: TicketEvent) -> bool:
    return (
        event.kind == EventKind.MESSAGE_CREATED
        and event.data.get("author_role") in _REQUESTER_SIDE
        and event.visibility is Visibility.PUBLIC
    )


async def _load_timelines(
    session: AsyncSession, ticket_ids: Sequence[int], leave_out: Collection[int]
) -> dict[int, _Timeline]:
    timelines: dict[int, _Timeline] = defaultdict(_Timeline)
    query = (
        select(TicketEvent, User.name, User.role)
        .outerjoin(User, User.id == TicketEvent.actor_id)
        .where(TicketEvent.ticket_id.in_(ticket_ids), TicketEvent.kind.in_(_STEP_KINDS))
        .order_by(TicketEvent.ticket_id, TicketEvent.id)
    )
    if leave_out:
        query = query.where(TicketEvent.id.not_in(leave_out))
    rows = await session.execute(query)
    for event, actor_name, actor_role in rows:
        timelines[event.ticket_id].steps.append((event, actor_name))
        if actor_role is not None and not actor_role.is_staff:
            timelines[event.ticket_id].by_requester.add(event.id)
    wanted: list[int] = []
    for timeline in timelines.values():
        staff = [e for e, _ in timeline.steps if not _from_requester_side(e)]
        customer = [e for e, _ in timeline.steps if _from_requester_side(e)]
        for event in [*staff[-MAX_STEPS:], *customer[-1:]]:
            message_id = _message_id(event)
            if message_id is not None:
                wanted.append(message_id)
    if wanted:
        bodies = await session.execute(
            select(Message.id, Message.ticket_id, func.left(Message.body, EXCERPT_CHARS + 1)).where(
                Message.id.in_(wanted)
            )
        )
        for message_id, ticket_id, body in bodies:
            timelines[ticket_id].bodies[message_id] = body
    return timelines


def _sla(ticket: Ticket, now: datetime) -> BriefSla:
    target: Literal["first_response", "resolution"] | None = None
    due: datetime | None = None
    if ticket.first_response_at is None and ticket.first_response_due_at is not None:
        target, due = "first_response", ticket.first_response_due_at
    elif ticket.resolved_at is None and ticket.resolution_due_at is not None:
        target, due = "resolution", ticket.resolution_due_at
    breached = is_breached(ticket, now)
    state: Literal["on_track", "at_risk", "breached", "met"]
    if breached:
        state = "breached"
    elif due is None:
        state = "met"
    elif (due - now) < (due - ticket.created_at) * _AT_RISK_SHARE:
        state = "at_risk"
    else:
        state = "on_track"
    return BriefSla(
        state=state,
        breached=breached,
        next_target=target,
        next_due_at=due,
        first_response_due_at=ticket.first_response_due_at,
        first_response_at=ticket.first_response_at,
        resolution_due_at=ticket.resolution_due_at,
        resolved_at=ticket.resolved_at,
    )


def _step(event: TicketEvent, actor_name: str | None, bodies: dict[int, str]) -> BriefStep:
    text: str | None = None
    message_id = _message_id(event)
    if message_id is not None and message_id in bodies:
        text = _excerpt(bodies[message_id], EXCERPT_CHARS)
    elif (event.kind == EventKind.STATUS_CHANGED and isinstance(event.data.get("note"), str)) or (
        event.kind == EventKind.OWNER_CHANGED and isinstance(event.data.get("note"), str)
    ):
        text = _excerpt(event.data["note"], EXCERPT_CHARS)
    return BriefStep(
        at=event.created_at,
        kind=event.kind,
        visibility=event.visibility,
        summary=summarize(event.kind, event.data, actor_name),
        text=text,
    )


def _compose(
    ticket: Ticket,
    timeline: _Timeline,
    *,
    requester: BriefPerson,
    owner: BriefPerson | None,
    team: BriefPerson | None,
    now: datetime,
    earlier: BriefEarlier | None = None,
) -> BriefOut:
    staff_steps = [(e, a) for e, a in timeline.steps if not _from_requester_side(e)]
    customer = [(e, a) for e, a in timeline.steps if _from_requester_side(e)]
    latest: BriefText | None = None
    if customer:
        event, author = customer[-1]
        body = timeline.bodies.get(_message_id(event) or 0)
        if body is not None:
            latest = BriefText(
                at=event.created_at, author=author, text=_excerpt(body, EXCERPT_CHARS)
            )

    open_questions: list[str] = []
    if ticket.status is TicketStatus.PENDING:
        to_pending = [
            e for e, _ in staff_steps
            if e.kind == EventKind.STATUS_CHANGED and e.data.get("to") == TicketStatus.PENDING
        ]  # fmt: skip
        note = to_pending[-1].data.get("note") if to_pending else None
        open_questions.append(
            note
            if isinstance(note, str) and note
            else "Waiting on the customer (no question noted)."
        )
    # A public reply answers the customer; so does a move (a question, a solution).
    last_reply = max(
        (
            e.id
            for e, _ in staff_steps
            if e.visibility is Visibility.PUBLIC
            and e.kind in (EventKind.MESSAGE_CREATED, EventKind.STATUS_CHANGED)
            and e.id not in timeline.by_requester
        ),
        default=0,
    )
    unanswered = bool(customer) and customer[-1][0].id > last_reply
    waiting_on: Literal["customer", "us"] | None = None
    if ticket.status is TicketStatus.PENDING and not unanswered:
        waiting_on = "customer"
    elif ticket.status in (TicketStatus.NEW, TicketStatus.OPEN) or unanswered:
        waiting_on = "us"
    if unanswered and ticket.status is not TicketStatus.PENDING:
        open_questions.append("The customer's latest message has no reply yet.")

    return BriefOut(
        ticket_id=ticket.id,
        subject=ticket.subject,
        status=ticket.status,
        priority=ticket.priority,
        category=ticket.category,
        channel=ticket.channel,
        requester=requester,
        owner=owner,
        team=team,
        problem=BriefText(
            at=ticket.created_at,
            author=requester.name,
            text=_excerpt(ticket.description, PROBLEM_CHARS),
        ),
        latest_customer_message=latest,
        done=[_step(e, a, timeline.bodies) for e, a in staff_steps[-MAX_STEPS:]],
        done_count=len(staff_steps),
        open_questions=open_questions,
        waiting_on=waiting_on,
        sla=_sla(ticket, now),
        follow_up_of=earlier,
        generated_at=now,
    )


class BriefBuilder:
    """Briefs for a set of tickets from a few queries (a handover batch loads once)."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self._timelines: dict[int, _Timeline] = {}
        self._names: dict[int, str] = {}
        self._teams: dict[int, str] = {}
        self._earlier: dict[int, BriefEarlier] = {}

    async def _load_earlier(self, session: AsyncSession, tickets: Sequence[Ticket]) -> None:
        """The closed cases these tickets follow up, with the last reply they got."""
        ids = {t.follow_up_of_id for t in tickets if t.follow_up_of_id is not None}
        if not ids:
            return
        rows = await session.scalars(select(Ticket).where(Ticket.id.in_(ids)))
        earlier = {t.id: t for t in rows}
        replies = await session.execute(
            select(Message.ticket_id, Message.created_at, User.name, Message.body)
            .join(User, User.id == Message.author_id)
            .where(
                Message.ticket_id.in_(ids),
                Message.visibility == Visibility.PUBLIC,
                User.role.in_([role for role in Role if role.is_staff]),
            )
            .order_by(Message.ticket_id, Message.id.desc())
            .ext(distinct_on(Message.ticket_id))
        )
        last = {
            ticket_id: BriefText(at=at, author=name, text=_excerpt(body, EXCERPT_CHARS))
            for ticket_id, at, name, body in replies
        }
        for ticket_id, ticket in earlier.items():
            self._earlier[ticket_id] = BriefEarlier(
                ticket_id=ticket_id,
                subject=ticket.subject,
                problem=_excerpt(ticket.description, EXCERPT_CHARS),
                resolved_at=ticket.resolved_at,
                last_reply=last.get(ticket_id),
            )

    @classmethod
    async def load(
        cls,
        session: AsyncSession,
        tickets: Sequence[Ticket],
        now: datetime | None = None,
        *,
        leave_out: Collection[int] = (),
    ) -> BriefBuilder:
        """Briefs from the stored timelines, without the events `leave_out` names."""
        builder = cls(now or datetime.now(UTC))
        if not tickets:
            return builder
        builder._timelines = await _load_timelines(session, [t.id for t in tickets], leave_out)
        people = {t.requester_id for t in tickets} | {
            t.owner_id for t in tickets if t.owner_id is not None
        }
        rows = await session.execute(select(User.id, User.name).where(User.id.in_(people)))
        builder._names = {user_id: name for user_id, name in rows}
        team_ids = {t.team_id for t in tickets if t.team_id is not None}
        if team_ids:
            rows = await session.execute(select(Team.id, Team.name).where(Team.id.in_(team_ids)))
            builder._teams = {team_id: name for team_id, name in rows}
        await builder._load_earlier(session, tickets)
        return builder

    @classmethod
    async def from_events(
        cls,
        session: AsyncSession,
        tickets: Sequence[Ticket],
        events: Sequence[TicketEvent],
        now: datetime | None = None,
    ) -> BriefBuilder:
        """Briefs for tickets filed in this transaction, whose whole timeline is `events`
        (no message yet): built from memory, with the people and teams the transaction
        has already loaded, instead of reading back what it just wrote."""
        builder = cls(now or datetime.now(UTC))
        wanted = {t.id for t in tickets}
        for event in events:
            if event.ticket_id not in wanted or event.kind not in _STEP_KINDS:
                continue
            actor = None if event.actor_id is None else await session.get(User, event.actor_id)
            timeline = builder._timelines.setdefault(event.ticket_id, _Timeline())
            timeline.steps.append((event, None if actor is None else actor.name))
            if actor is not None and not actor.role.is_staff:
                timeline.by_requester.add(event.id)
        for ticket in tickets:
            requester = await session.get(User, ticket.requester_id)
            if requester is not None:
                builder._names[requester.id] = requester.name
            if ticket.team_id is not None:
                team = await session.get(Team, ticket.team_id)
                if team is not None:
                    builder._teams[team.id] = team.name
        await builder._load_earlier(session, tickets)
        return builder

    def brief(self, ticket: Ticket, owner: BriefPerson | None) -> BriefOut:
        """The brief of a loaded ticket, for `owner` (the owner it has or is about to get)."""
        team = None
        if ticket.team_id is not None:
            team = BriefPerson(id=ticket.team_id, name=self._teams.get(ticket.team_id, "?"))
        return _compose(
            ticket,
            self._timelines.get(ticket.id, _Timeline()),
            requester=BriefPerson(
                id=ticket.requester_id, name=self._names.get(ticket.requester_id, "?")
            ),
            owner=owner,
            team=team,
            now=self.now,
            earlier=None
            if ticket.follow_up_of_id is None
            else self._earlier.get(ticket.follow_up_of_id),
        )


async def brief_for(session: AsyncSession, ticket: Ticket, owner: User | None) -> BriefOut:
    briefed = None if owner is None else BriefPerson(id=owner.id, name=owner.name)
    return (await BriefBuilder.load(session, [ticket])).brief(ticket, briefed)
