"""Ticket use cases: file, edit, assign, move through the lifecycle.

Each use case is one transaction (the request's): take the ticket row FOR UPDATE,
check the rule and the If-Match version, change the row and bump its version, append
the timeline events. Services flush and never commit; the request commits once.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, String, Text, bindparam, insert, select
from sqlalchemy.dialects.postgresql import REGCONFIG
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from app.continuity import routing
from app.continuity.brief import BriefBuilder, BriefOut, brief_notice
from app.errors import Conflict, Forbidden, UnprocessableEntity
from app.events.kinds import EventKind
from app.events.recorder import NewEvent, insert_events, person, record_event, record_events
from app.feedback.invitations import invite_on_resolution
from app.models import (
    Channel,
    Role,
    RoutingRule,
    Team,
    Ticket,
    TicketEvent,
    TicketStatus,
    User,
    Visibility,
)
from app.notifications.outbox import Recorded, enqueue
from app.sla.policy import due_dates
from app.tickets import search
from app.tickets.concurrency import check_if_match
from app.tickets.lifecycle import allowed_moves, derive_priority, ordered
from app.tickets.schemas import (
    NOT_NULLABLE_TICKET_FIELDS,
    AssignRequest,
    RequesterIn,
    StatusChange,
    TicketCreate,
    TicketUpdate,
)
from app.tickets.visibility import get_visible_ticket

OWNER_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR})


def touch(ticket: Ticket, now: datetime) -> None:
    """Every change to a ticket bumps its version (the ETag) and its activity time."""
    ticket.version += 1
    ticket.updated_at = now


@dataclass(frozen=True, slots=True)
class Filed:
    """A ticket just filed, with everything its response shows: the filing knows it all,
    so the response is built from it rather than read back."""

    ticket: Ticket
    requester: User
    owner: User | None
    team: Team | None
    actor: User
    last_event: TicketEvent
    owner_event: TicketEvent | None


async def create_ticket(
    session: AsyncSession, actor: User, data: TicketCreate, *, search_config: str
) -> Filed:
    requester, team = await _requester_and_team(session, actor, data)
    if data.external_ref is not None:
        await _require_new_external_ref(session, actor, data.external_ref)
    now = datetime.now(UTC)
    priority = derive_priority(data.urgency, data.impact)
    due = due_dates(priority, now)
    ticket = Ticket(
        subject=data.subject,
        description=data.description,
        status=TicketStatus.NEW,
        channel=data.channel or (Channel.API if actor.role is Role.INTEGRATION else Channel.WEB),
        urgency=data.urgency,
        impact=data.impact,
        priority=priority,
        category=data.category,
        tags=data.tags,
        requester_id=requester.id,
        team_id=None if team is None else team.id,
        created_by_id=actor.id,
        external_ref=data.external_ref,
        first_response_due_at=due.first_response_due_at,
        resolution_due_at=due.resolution_due_at,
        version=1,
        created_at=now,
        updated_at=now,
        # Set, not left to the database: the response is built from this object.
        owner_id=None,
        first_response_at=None,
        resolved_at=None,
        first_response_breached_for=None,
        resolution_breached_for=None,
        last_event_id=None,
        last_public_event_id=None,
        last_owner_event_id=None,
    )
    # Routing on arrival, in the same transaction: the team's mode picks an owner. The
    # row goes in as it ends up (owner, version 2), so the UPDATE that points it at its
    # events changes no indexed column and stays a HOT update; both events go in one
    # INSERT, the outbox rows in one more.
    owner = None if team is None else await routing.pick_owner(session, ticket, team, now=now)
    if owner is not None:
        ticket.owner_id = owner.id
        ticket.version = 2
    await _insert(session, ticket, actor, search_config)
    created = NewEvent(
        ticket,
        EventKind.TICKET_CREATED,
        actor,
        Visibility.PUBLIC,
        {
            "subject": ticket.subject,
            "channel": ticket.channel.value,
            "urgency": ticket.urgency.value,
            "impact": ticket.impact.value,
            "priority": ticket.priority.value,
            "category": ticket.category,
            "requester": person(requester),
            "team_id": ticket.team_id,
        },
        ticket_version=1,
        owner_id=None,
        at=now,
    )
    if owner is None:
        [event] = await record_events(session, [created], fresh={ticket.id})
        return Filed(ticket, requester, None, team, actor, event, None)
    routing_event = NewEvent(
        ticket,
        EventKind.OWNER_CHANGED,
        None,
        Visibility.PUBLIC,
        owner_changed_data(None, owner, "routing", None),
        ticket_version=2,
        owner_id=owner.id,
        at=now,
    )
    [routed] = await record_owner_changes(
        session,
        [OwnerChange(ticket, owner)],
        [created, routing_event],
        actor=None,
        now=now,
        fresh={ticket.id},
    )
    return Filed(ticket, requester, owner, team, actor, routed, routed)


# A new ticket's INSERT, built once. The unit of work would build, hash and compile it
# anew for every ticket (the tsvector is an expression), and track the object through a
# flush: the one statement that every ticket creation runs cost the most Python of all.
_INSERT = (
    insert(Ticket)
    .values(
        search_public=search.document_vector(
            bindparam("search_config", type_=REGCONFIG), bindparam("search_document", type_=Text)
        )
    )
    .returning(Ticket.id)
)
_INSERTED_COLUMNS = [
    c.key
    for c in Ticket.__table__.columns
    if c.key not in {"id", "search_public", "search_internal"}
]


async def _insert(session: AsyncSession, ticket: Ticket, actor: User, search_config: str) -> None:
    """Insert `ticket` and make it a persistent object of the session."""
    params = {key: getattr(ticket, key) for key in _INSERTED_COLUMNS}
    params.update(
        search_config=search_config,
        search_document=search.ticket_document(ticket.subject, ticket.description),
    )
    if ticket.external_ref is None:
        ticket.id = (await session.execute(_INSERT, params)).scalar_one()
    else:
        try:
            async with session.begin_nested():
                ticket.id = (await session.execute(_INSERT, params)).scalar_one()
        except IntegrityError:
            # Lost a race with a concurrent request carrying the same external_ref.
            await _require_new_external_ref(session, actor, ticket.external_ref)
            raise
    make_transient_to_detached(ticket)
    session.add(ticket)


async def update_ticket(
    session: AsyncSession,
    actor: User,
    ticket_id: int,
    data: TicketUpdate,
    *,
    if_match: str | None,
    search_config: str,
) -> Ticket:
    changes = _explicit_changes(data)
    ticket = await get_visible_ticket(session, actor, ticket_id, for_update=True)
    check_if_match(if_match, ticket)
    _require_not_closed(ticket)
    if changes.get("team_id") is not None:
        await _require_team(session, changes["team_id"])

    diff: dict[str, dict[str, Any]] = {}
    for field, value in changes.items():
        old = getattr(ticket, field)
        if old != value:
            diff[field] = {"from": _plain(old), "to": _plain(value)}
            setattr(ticket, field, value)
    if not diff:
        return ticket

    now = datetime.now(UTC)
    touch(ticket, now)
    if "subject" in diff:
        ticket.search_public = search.rebuilt_public(
            search_config, ticket.id, ticket.subject, ticket.description
        )
    await record_event(
        session,
        ticket,
        EventKind.TICKET_UPDATED,
        actor=actor,
        visibility=Visibility.INTERNAL,
        data={"changes": diff},
    )
    new_priority = derive_priority(ticket.urgency, ticket.impact)
    if new_priority != ticket.priority:
        old_priority, ticket.priority = ticket.priority, new_priority
        due = due_dates(new_priority, ticket.created_at)
        ticket.first_response_due_at = due.first_response_due_at
        ticket.resolution_due_at = due.resolution_due_at
        await record_event(
            session,
            ticket,
            EventKind.PRIORITY_CHANGED,
            actor=actor,
            visibility=Visibility.INTERNAL,
            data={"from": old_priority.value, "to": new_priority.value},
        )
    return ticket


async def assign(
    session: AsyncSession, actor: User, ticket_id: int, data: AssignRequest, *, if_match: str | None
) -> Ticket:
    ticket = await get_visible_ticket(session, actor, ticket_id, for_update=True)
    check_if_match(if_match, ticket)
    _require_not_closed(ticket)
    new_owner = None if data.owner_id is None else await _eligible_owner(session, data.owner_id)
    if ticket.owner_id == data.owner_id:
        return ticket
    await change_owner(
        session, ticket, new_owner, actor=actor, reason=data.reason.value, note=data.note
    )
    return ticket


@dataclass(slots=True)
class OwnerChange:
    ticket: Ticket  # locked (or filed in this transaction)
    new_owner: User | None
    extra: dict[str, Any] | None = None
    brief: BriefOut | None = None  # built by the caller already (e.g. for a whole batch)


async def change_owner(
    session: AsyncSession,
    ticket: Ticket,
    new_owner: User | None,
    *,
    actor: User | None,
    reason: str,
    note: str | None = None,
    extra: dict[str, Any] | None = None,
    brief: BriefOut | None = None,
    now: datetime | None = None,
) -> TicketEvent:
    """Give a locked ticket a new owner (or the queue): the one way owners change."""
    [event] = await change_owners(
        session,
        [OwnerChange(ticket, new_owner, extra, brief)],
        actor=actor,
        reason=reason,
        note=note,
        now=now,
    )
    return event


async def change_owners(
    session: AsyncSession,
    changes: Sequence[OwnerChange],
    *,
    actor: User | None,
    reason: str,
    note: str | None = None,
    now: datetime | None = None,
    before: Sequence[NewEvent] = (),
    fresh: Collection[int] = (),
) -> list[TicketEvent]:
    """Owner changes for many locked tickets at once, as one batch of writes.

    Each timeline gets `ticket.owner_changed` with {from, to, reason, note} and whatever
    `extra` adds; each new owner gets a handover brief with their notice. `before` are
    events of the same change to append first (a new ticket's `ticket.created`);
    `fresh` the tickets filed in this transaction (their briefs are built from memory).
    """
    now = now or datetime.now(UTC)
    new = list(before)
    for change in changes:
        ticket = change.ticket
        old_owner = None if ticket.owner_id is None else await session.get(User, ticket.owner_id)
        ticket.owner_id = None if change.new_owner is None else change.new_owner.id
        touch(ticket, now)
        new.append(
            NewEvent.of(
                ticket,
                EventKind.OWNER_CHANGED,
                actor=actor,
                visibility=Visibility.PUBLIC,
                data=owner_changed_data(old_owner, change.new_owner, reason, note, change.extra),
            )
        )
    return await record_owner_changes(session, changes, new, actor=actor, now=now, fresh=fresh)


def owner_changed_data(
    old: User | None,
    new: User | None,
    reason: str,
    note: str | None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What `ticket.owner_changed` records: who from, who to, and why."""
    return {"from": person(old), "to": person(new), "reason": reason, "note": note, **(extra or {})}


async def record_owner_changes(
    session: AsyncSession,
    changes: Sequence[OwnerChange],
    new: Sequence[NewEvent],
    *,
    actor: User | None,
    now: datetime,
    fresh: Collection[int] = (),
) -> list[TicketEvent]:
    """Append `new` (events of the change, then one owner change per item of `changes`,
    already applied to the tickets), brief each new owner, write the outbox. Returns
    the owner-change events."""
    events = await insert_events(session, new, fresh=fresh)
    briefed = [
        c
        for c in changes
        if c.new_owner is not None and (actor is None or actor.id != c.new_owner.id)
    ]
    unbuilt = [c.ticket for c in briefed if c.brief is None]
    builder = None
    if unbuilt:
        if all(t.id in fresh for t in unbuilt):
            builder = await BriefBuilder.from_events(session, unbuilt, events, now)
        else:
            builder = await BriefBuilder.load(session, unbuilt, now)
    personal = []
    for change in briefed:
        assert change.new_owner is not None
        brief = change.brief
        if brief is None:
            assert builder is not None
            brief = builder.brief(change.ticket, change.new_owner)
        personal.append(brief_notice(change.ticket, change.new_owner, brief))
    await enqueue(
        session,
        [Recorded(n.ticket, e, n.actor, n.owner_id) for n, e in zip(new, events, strict=True)],
        personal,
        fresh=fresh,
    )
    return events[len(new) - len(changes) :]


async def change_status(
    session: AsyncSession, actor: User, ticket_id: int, data: StatusChange, *, if_match: str | None
) -> Ticket:
    ticket = await get_visible_ticket(session, actor, ticket_id, for_update=True)
    check_if_match(if_match, ticket)
    allowed = allowed_moves(ticket.status, actor.role)
    if data.status not in allowed:
        moves = ordered(allowed)
        if not actor.role.is_staff and data.status in allowed_moves(ticket.status, Role.AGENT):
            raise Forbidden(
                f"You may only reopen or resolve your ticket; {data.status.value} is for agents."
            )
        raise Conflict(
            f"A {ticket.status.value} ticket cannot move to {data.status.value}; "
            f"allowed: {', '.join(moves) or 'none (closed is final)'}.",
            extra={"allowed": moves, "current": ticket.status.value},
        )
    await move_status(session, ticket, data.status, actor=actor, note=data.note)
    return ticket


async def move_status(
    session: AsyncSession,
    ticket: Ticket,
    to: TicketStatus,
    *,
    actor: User,
    note: str | None = None,
    now: datetime | None = None,
) -> None:
    """Apply a status move already known to be allowed, with its timeline event."""
    now = now or datetime.now(UTC)
    old = ticket.status
    ticket.status = to
    if to is TicketStatus.RESOLVED:
        ticket.resolved_at = now
    elif old is TicketStatus.RESOLVED and to is TicketStatus.OPEN:
        ticket.resolved_at = None
    if ticket.updated_at != now:
        touch(ticket, now)
    await record_event(
        session,
        ticket,
        EventKind.STATUS_CHANGED,
        actor=actor,
        visibility=Visibility.PUBLIC,
        data={"from": old.value, "to": to.value, "note": note},
    )
    if to is TicketStatus.RESOLVED and old is not TicketStatus.RESOLVED:
        # Every resolution asks the requester how it went, in this same transaction.
        await invite_on_resolution(session, ticket, resolved_by=actor, now=now)


def _explicit_changes(data: TicketUpdate) -> dict[str, Any]:
    changes = data.model_dump(exclude_unset=True)
    nulled = sorted(k for k, v in changes.items() if v is None and k in NOT_NULLABLE_TICKET_FIELDS)
    if nulled:
        raise UnprocessableEntity(f"These fields cannot be null: {', '.join(nulled)}.")
    return changes


def _plain(value: Any) -> Any:
    return value.value if hasattr(value, "value") else value


def _require_not_closed(ticket: Ticket) -> None:
    if ticket.status is TicketStatus.CLOSED:
        raise Conflict(f"Ticket {ticket.id} is closed, and closed is final.")


async def _require_team(session: AsyncSession, team_id: int) -> Team:
    return _checked_team(team_id, await session.get(Team, team_id))


async def _require_new_external_ref(session: AsyncSession, actor: User, ref: str) -> None:
    existing = await session.scalar(
        select(Ticket.id).where(Ticket.created_by_id == actor.id, Ticket.external_ref == ref)
    )
    if existing is not None:
        raise Conflict(
            f"external_ref {ref!r} is already used by ticket {existing}.",
            extra={"existing_ticket_id": existing},
        )


async def _eligible_owner(session: AsyncSession, owner_id: int) -> User:
    owner = await session.get(User, owner_id)
    if owner is None or owner.role not in OWNER_ROLES:
        raise UnprocessableEntity(f"User {owner_id} is not an agent or supervisor.")
    if not owner.active:
        raise UnprocessableEntity(f"User {owner_id} is deactivated and cannot own tickets.")
    return owner


# Staff and integrations usually name the requester by id and a team (or a category
# routed to one): both are read in one statement, not two.
_REQUESTER_AND_TEAM = (
    select(User, Team)
    .select_from(User)
    .outerjoin(Team, Team.id == bindparam("team_id", type_=BigInteger))
    .where(User.id == bindparam("requester_id", type_=BigInteger))
)
_REQUESTER_AND_ROUTED_TEAM = (
    select(User, Team)
    .select_from(User)
    .outerjoin(RoutingRule, RoutingRule.category == bindparam("category", type_=String))
    .outerjoin(Team, Team.id == RoutingRule.team_id)
    .where(User.id == bindparam("requester_id", type_=BigInteger))
)


async def _requester_and_team(
    session: AsyncSession, actor: User, data: TicketCreate
) -> tuple[User, Team | None]:
    """Who the ticket is for, and the team it goes to: the one named, or the one its
    category is routed to, or none."""
    named_team = data.team_id is not None or data.category is not None
    if actor.role is not Role.CUSTOMER and data.requester_id is not None and named_team:
        return await _requester_with_team(session, data.requester_id, data)
    requester = actor if actor.role is Role.CUSTOMER else await _resolve_requester(session, data)
    if data.team_id is not None:
        return requester, await _require_team(session, data.team_id)
    if data.category is not None:
        return requester, await routing.team_for_category(session, data.category)
    return requester, None


async def _requester_with_team(
    session: AsyncSession, requester_id: int, data: TicketCreate
) -> tuple[User, Team | None]:
    statement, params = (
        (_REQUESTER_AND_TEAM, {"team_id": data.team_id})
        if data.team_id is not None
        else (_REQUESTER_AND_ROUTED_TEAM, {"category": data.category})
    )
    row = (await session.execute(statement, {"requester_id": requester_id, **params})).one_or_none()
    requester, team = (None, None) if row is None else row
    requester = _checked_requester(requester_id, requester)
    if data.team_id is not None:
        team = _checked_team(data.team_id, team)
    return requester, team


def _checked_requester(requester_id: int, requester: User | None) -> User:
    if requester is None:
        raise UnprocessableEntity(f"Requester {requester_id} does not exist.")
    if not requester.active:
        raise UnprocessableEntity(f"Requester {requester.id} is deactivated.")
    return requester


def _checked_team(team_id: int, team: Team | None) -> Team:
    if team is None:
        raise UnprocessableEntity(f"Team {team_id} does not exist.")
    return team


async def _resolve_requester(session: AsyncSession, data: TicketCreate) -> User:
    """The named requester: an existing user by id, or by email (created if unknown)."""
    if data.requester_id is not None:
        return _checked_requester(data.requester_id, await session.get(User, data.requester_id))
    if data.requester is not None:
        requester = await _customer_by_email(session, data.requester)
        return _checked_requester(requester.id, requester)
    raise UnprocessableEntity("Name the requester: requester_id or requester {email}.")


async def _customer_by_email(session: AsyncSession, given: RequesterIn) -> User:
    email = given.email.lower()
    # Insert-or-nothing, then read: two tickets from one new address at the same moment
    # still make one customer.
    await session.execute(
        pg_insert(User)
        .values(
            email=email,
            name=given.name or email.split("@", 1)[0],
            role=Role.CUSTOMER,
            phone=given.phone,
        )
        .on_conflict_do_nothing(index_elements=[User.email])
    )
    requester = await session.scalar(select(User).where(User.email == email))
    assert requester is not None
    return requester
