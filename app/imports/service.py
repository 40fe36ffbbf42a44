"""Importing history: each ticket written as it ends up, its timeline with the original
times, marked `imported` in every event's data.

Nothing is told: the events are appended without the reactions (no routing, no survey
invitation, no outbox row), and only the metrics fold them (the same fold as their
reaction), so imported history counts in every figure. Ratings, complaints and
suggestions are stored as the desk's own surveys and feedback records (answers.py). The
live channel relays no imported event (app/live/feed.py), and the trigger that wakes it
stays quiet for them. Idempotent by external id: a ticket imported
before (`external_ref` `import:<id>`) is left as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import UnprocessableEntity
from app.events.kinds import EventKind
from app.imports import answers
from app.imports.answers import Said, Survey
from app.imports.schemas import Imported, ImportResult, ImportTicket, Step
from app.metrics.reactions import fold
from app.models import (
    STAFF_ROLES,
    FeedbackKind,
    Message,
    Role,
    Team,
    Ticket,
    TicketEvent,
    TicketStatus,
    User,
    Visibility,
)
from app.tickets import search
from app.tickets.lifecycle import derive_priority

IMPORTED = "imported"
_PREFIX = "import:"


def _person(user: User | None) -> dict[str, Any] | None:
    return None if user is None else {"id": user.id, "name": user.name}


@dataclass
class _Event:
    kind: EventKind
    at: datetime
    actor: User | None
    visibility: Visibility
    data: dict[str, Any]


@dataclass
class _State:
    status: TicketStatus = TicketStatus.NEW
    owner: User | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    events: list[_Event] = field(default_factory=list)
    messages: list[tuple[_Event, Message]] = field(default_factory=list)
    surveys: list[Survey] = field(default_factory=list)
    said: list[Said] = field(default_factory=list)


async def import_tickets(
    session: AsyncSession, actor: User, tickets: list[ImportTicket], search_config: str
) -> ImportResult:
    refs = [f"{_PREFIX}{t.external_id}" for t in tickets]
    if len(set(refs)) != len(refs):
        raise UnprocessableEntity("An external_id appears twice in the batch.")
    existing = dict(
        (
            await session.execute(
                select(Ticket.external_ref, Ticket.id).where(Ticket.external_ref.in_(refs))
            )
        ).all()
    )
    people = await _people(session, tickets)
    await _check_teams(session, tickets)
    results: list[Imported] = []
    folded: list[tuple[int, str, datetime, dict[str, Any], int | None, tuple[str, ...]]] = []
    for item, ref in zip(tickets, refs, strict=True):
        if ref in existing:
            results.append(
                Imported(external_id=item.external_id, ticket_id=existing[ref], created=False)
            )
            continue
        tags = tuple(dict.fromkeys(item.tags))
        ticket, events = await _import_one(session, actor, item, ref, people, search_config)
        results.append(Imported(external_id=item.external_id, ticket_id=ticket.id, created=True))
        folded += [
            (
                ticket.id,
                e.kind,
                e.created_at,
                e.data,
                e.actor_id,
                tags if e.kind == EventKind.TICKET_CREATED else (),
            )
            for e in events
        ]
    await fold(session, folded)
    created = sum(1 for r in results if r.created)
    return ImportResult(created=created, unchanged=len(results) - created, tickets=results)


async def _people(session: AsyncSession, tickets: list[ImportTicket]) -> dict[str, User]:
    """Requesters by email, made customers when new; staff named in steps must exist."""
    emails = {t.requester.email.lower() for t in tickets}
    staff_emails = {
        str(e).lower() for t in tickets for s in t.steps for e in (s.by, s.owner) if e is not None
    }
    found = {
        u.email: u
        for u in await session.scalars(select(User).where(User.email.in_(emails | staff_emails)))
    }
    for t in tickets:
        email = t.requester.email.lower()
        if email not in found:
            user = User(
                email=email, name=t.requester.name or email.split("@")[0], role=Role.CUSTOMER
            )
            session.add(user)
            found[email] = user
    await session.flush()
    for t in tickets:
        for s in t.steps:
            if s.owner is not None and (
                s.owner.lower() not in found or found[s.owner.lower()].role not in STAFF_ROLES
            ):
                raise UnprocessableEntity(f"Owner {s.owner} is not a member of staff here.")
            if s.by is not None and s.by.lower() not in found:
                raise UnprocessableEntity(f"{s.by} is not known here: create them first.")
    return found


async def _check_teams(session: AsyncSession, tickets: list[ImportTicket]) -> None:
    wanted = {t.team_id for t in tickets if t.team_id is not None}
    if not wanted:
        return
    known = set(await session.scalars(select(Team.id).where(Team.id.in_(wanted))))
    missing = sorted(wanted - known)
    if missing:
        raise UnprocessableEntity(f"Unknown teams: {', '.join(map(str, missing))}.")


def _replay(item: ImportTicket, requester: User, people: dict[str, User]) -> _State:
    state = _State()
    previous = item.created_at
    for step in item.steps:
        if step.at < previous:
            raise UnprocessableEntity(f"{item.external_id}: steps must be in time order.")
        previous = step.at
        by = people[step.by.lower()] if step.by is not None else None
        _apply(state, item, step, by, requester, people)
    return state


def _apply(
    state: _State,
    item: ImportTicket,
    step: Step,
    by: User | None,
    requester: User,
    people: dict[str, User],
) -> None:
    mark: dict[str, Any] = {IMPORTED: True}
    data: dict[str, Any]
    if step.type == "message":
        if step.body is None:
            raise UnprocessableEntity(f"{item.external_id}: a message step needs a body.")
        author = by or requester
        message = Message(
            author_id=author.id,
            visibility=step.visibility,
            channel=item.channel,
            body=step.body,
            created_at=step.at,
        )
        data = {
            "visibility": step.visibility.value,
            "author_role": author.role.value,
            "channel": item.channel.value,
            **mark,
        }
        event = _Event(EventKind.MESSAGE_CREATED, step.at, author, step.visibility, data)
        state.messages.append((event, message))
        state.events.append(event)
        if author.role.is_staff and step.visibility is Visibility.PUBLIC:
            state.first_response_at = state.first_response_at or step.at
    elif step.type == "status":
        if step.status is None:
            raise UnprocessableEntity(f"{item.external_id}: a status step needs a status.")
        data = {"from": state.status.value, "to": step.status.value, "note": None, **mark}
        state.events.append(_Event(EventKind.STATUS_CHANGED, step.at, by, Visibility.PUBLIC, data))
        resolves = step.status is TicketStatus.RESOLVED and state.status is not step.status
        if resolves and by is not None:
            # A resolution by someone is surveyed, as the desk's own are (and the
            # response rate counts it).
            number = len(state.surveys) + 1
            state.surveys.append(Survey(number, step.at, state.owner, by))
        if step.status is TicketStatus.RESOLVED:
            state.resolved_at = step.at
        elif step.status is not TicketStatus.CLOSED:
            state.resolved_at = None
        state.status = step.status
    elif step.type == "assign":
        new = people[step.owner.lower()] if step.owner is not None else None
        data = {
            "from": _person(state.owner),
            "to": _person(new),
            "reason": step.reason,
            "note": None,
            **mark,
        }
        state.events.append(_Event(EventKind.OWNER_CHANGED, step.at, by, Visibility.INTERNAL, data))
        state.owner = new
    elif step.type == "rating":
        if step.rating is None:
            raise UnprocessableEntity(f"{item.external_id}: a rating step needs a rating.")
        survey = state.surveys[-1] if state.surveys else None
        if survey is None or survey.answered_at is not None:
            raise UnprocessableEntity(
                f"{item.external_id}: a rating answers the survey of a resolution, once: "
                "put it after a status step to resolved with `by`."
            )
        data = answers.answer(survey, step.rating, step.body, step.at, item.team_id)
        data.update(mark)
        state.events.append(
            _Event(EventKind.FEEDBACK_RECEIVED, step.at, requester, Visibility.INTERNAL, data)
        )
    else:  # complaint, suggestion
        if step.body is None:
            raise UnprocessableEntity(
                f"{item.external_id}: a {step.type} step needs a body: what was said."
            )
        author = by or requester
        data = {
            "source": "feedback",
            "kind": step.type,
            "channel": item.channel.value,
            "message_id": None,
            **mark,
        }
        state.said.append(Said(FeedbackKind(step.type), step.body, author, step.at, data))
        state.events.append(
            _Event(EventKind.FEEDBACK_RECEIVED, step.at, author, Visibility.INTERNAL, data)
        )


async def _import_one(
    session: AsyncSession,
    actor: User,
    item: ImportTicket,
    ref: str,
    people: dict[str, User],
    search_config: str,
) -> tuple[Ticket, list[TicketEvent]]:
    requester = people[item.requester.email.lower()]
    state = _replay(item, requester, people)
    last = state.events[-1].at if state.events else item.created_at
    ticket = Ticket(
        subject=item.subject,
        description=item.description,
        status=state.status,
        channel=item.channel,
        urgency=item.urgency,
        impact=item.impact,
        priority=derive_priority(item.urgency, item.impact),
        category=item.category,
        tags=list(dict.fromkeys(item.tags)),
        requester_id=requester.id,
        owner_id=state.owner.id if state.owner else None,
        team_id=item.team_id,
        created_by_id=actor.id,
        external_ref=ref,
        first_response_at=state.first_response_at,
        resolved_at=state.resolved_at,
        version=1 + len(state.events),
        created_at=item.created_at,
        updated_at=last,
    )
    session.add(ticket)
    await session.flush()
    for _, message in state.messages:
        message.ticket_id = ticket.id
        session.add(message)
    await session.flush()
    created = _Event(
        EventKind.TICKET_CREATED,
        item.created_at,
        requester,
        Visibility.PUBLIC,
        {
            "subject": item.subject,
            "channel": item.channel.value,
            "urgency": item.urgency.value,
            "impact": item.impact.value,
            "priority": ticket.priority.value,
            "category": item.category,
            "requester": _person(requester),
            "team_id": item.team_id,
            "external_id": item.external_id,
            IMPORTED: True,
        },
    )
    for event, message in state.messages:
        event.data["message_id"] = message.id
    await answers.write(
        session,
        ticket,
        requester,
        actor,
        state.surveys,
        state.said,
        now=datetime.now(UTC),
        search_config=search_config,
    )
    rows = [
        {
            "ticket_id": ticket.id,
            "kind": e.kind.value,
            "visibility": e.visibility,
            "actor_id": e.actor.id if e.actor else None,
            "data": e.data,
            "ticket_version": version,
            "created_at": e.at,
        }
        for version, e in enumerate([created, *state.events], start=1)
    ]
    events = list(
        await session.scalars(
            insert(TicketEvent).returning(TicketEvent, sort_by_parameter_order=True),
            rows,
            execution_options={"render_nulls": True},
        )
    )
    ticket.last_event_id = events[-1].id
    public = [e.id for e in events if e.visibility is Visibility.PUBLIC]
    ticket.last_public_event_id = public[-1] if public else None
    owners = [e.id for e in events if e.kind == EventKind.OWNER_CHANGED]
    ticket.last_owner_event_id = owners[-1] if owners else None
    ticket.search_public = search.rebuilt_public(
        search_config, ticket.id, item.subject, item.description
    )
    await session.flush()
    return ticket, events
