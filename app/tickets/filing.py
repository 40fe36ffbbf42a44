"""Filing a ticket: who it is for, the team it goes to, the row and its first events.

The filing reactions (app/events/reactions.py) complete the row before it is inserted:
its due times, its first owner. So it goes in as it ends up, with one INSERT, and its
events (`ticket.created`, then whatever the reactions added) in one more.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, String, Text, bindparam, insert, select
from sqlalchemy.dialects.postgresql import REGCONFIG
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from app.attachments import records as attachment_records
from app.attachments.records import NewAttachment
from app.errors import Conflict, UnprocessableEntity
from app.events.kinds import EventKind
from app.events.reactions import Filing, reactions_of
from app.events.recorder import record_events
from app.events.records import NewEvent, person
from app.identities.normalise import IdentityRef
from app.identities.service import find_person
from app.models import (
    Attachment,
    Channel,
    IdentityKind,
    Role,
    RoutingRule,
    SlaPolicy,
    Team,
    Ticket,
    TicketEvent,
    TicketStatus,
    User,
    Visibility,
)
from app.tickets import search
from app.tickets.lifecycle import derive_priority
from app.tickets.schemas import RequesterIn, TicketCreate


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
    attachments: list[Attachment] = field(default_factory=list)
    sla_policy_name: str | None = None


async def create_ticket(
    session: AsyncSession,
    actor: User,
    data: TicketCreate,
    *,
    search_config: str,
    files: Sequence[NewAttachment] = (),
    follow_up_of: Ticket | None = None,
    created_data: dict[str, Any] | None = None,
) -> Filed:
    """File a ticket, with the files that came with it. `follow_up_of` names the closed
    ticket it follows up; `created_data` adds to its `ticket.created` event."""
    requester, team = await _requester_and_team(session, actor, data)
    if data.external_ref is not None:
        await _require_new_external_ref(session, actor, data.external_ref)
    now = datetime.now(UTC)
    ticket = Ticket(
        subject=data.subject,
        description=data.description,
        status=TicketStatus.NEW,
        channel=data.channel or (Channel.API if actor.role is Role.INTEGRATION else Channel.WEB),
        urgency=data.urgency,
        impact=data.impact,
        priority=derive_priority(data.urgency, data.impact),
        category=data.category,
        tags=data.tags,
        requester_id=requester.id,
        team_id=None if team is None else team.id,
        created_by_id=actor.id,
        external_ref=data.external_ref,
        follow_up_of_id=None if follow_up_of is None else follow_up_of.id,
        version=1,
        created_at=now,
        updated_at=now,
        customer_version=1,
        customer_updated_at=now,
        # Set, not left to the database: the response is built from this object.
        owner_id=None,
        first_response_at=None,
        resolved_at=None,
        first_response_due_at=None,
        resolution_due_at=None,
        first_response_breached_for=None,
        resolution_breached_for=None,
        sla_policy_id=None,
        next_response_due_at=None,
        next_response_breached_for=None,
        sla_paused_since=None,
        sla_paused_seconds=0.0,
        sla_due_at=None,
        last_event_id=None,
        last_public_event_id=None,
        last_owner_event_id=None,
        merged_into_id=None,
        problem_id=None,
    )
    filing = Filing(ticket, team, actor, now)
    await reactions_of(session).file(session, [filing])
    await _insert(session, ticket, actor, search_config)
    attached = await attachment_records.attach(session, ticket.id, None, files)
    extra = {**filing.created_data, **(created_data or {})}
    if attached:
        extra["attachments"] = attachment_records.described(attached)
    if follow_up_of is not None:
        extra["follow_up_of"] = {"id": follow_up_of.id, "subject": follow_up_of.subject}
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
            **extra,
        },
        ticket_version=1,
        owner_id=None,
        at=now,
        status=ticket.status,
    )
    events = await record_events(session, [created, *filing.followups], fresh={ticket.id})
    owner_events = [e for e in events if e.kind == EventKind.OWNER_CHANGED]
    policy_name = (
        None
        if ticket.sla_policy_id is None
        else await session.scalar(
            select(SlaPolicy.name).where(SlaPolicy.id == ticket.sla_policy_id)
        )
    )
    return Filed(
        ticket,
        requester,
        filing.owner,
        filing.team,  # a filing reaction may have placed it in a team
        actor,
        events[-1],
        owner_events[-1] if owner_events else None,
        attached,
        policy_name,
    )


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


async def _require_new_external_ref(session: AsyncSession, actor: User, ref: str) -> None:
    existing = await session.scalar(
        select(Ticket.id).where(Ticket.created_by_id == actor.id, Ticket.external_ref == ref)
    )
    if existing is not None:
        raise Conflict(
            f"external_ref {ref!r} is already used by ticket {existing}.",
            extra={"existing_ticket_id": existing},
        )


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
_ROUTED_TEAM = (
    select(Team)
    .join(RoutingRule, RoutingRule.team_id == Team.id)
    .where(RoutingRule.category == bindparam("category", type_=String))
)


async def _requester_and_team(
    session: AsyncSession, actor: User, data: TicketCreate
) -> tuple[User, Team | None]:
    """Who the ticket is for, and the team it goes to: the one named, or the one its
    category is routed to (routing rules), or none."""
    named_team = data.team_id is not None or data.category is not None
    if actor.role is not Role.CUSTOMER and data.requester_id is not None and named_team:
        return await _requester_with_team(session, actor, data.requester_id, data)
    requester = (
        actor if actor.role is Role.CUSTOMER else await _resolve_requester(session, actor, data)
    )
    if data.team_id is not None:
        return requester, await require_team(session, data.team_id)
    if data.category is not None:
        team: Team | None = await session.scalar(_ROUTED_TEAM, {"category": data.category})
        return requester, team
    return requester, None


async def _requester_with_team(
    session: AsyncSession, actor: User, requester_id: int, data: TicketCreate
) -> tuple[User, Team | None]:
    statement, params = (
        (_REQUESTER_AND_TEAM, {"team_id": data.team_id})
        if data.team_id is not None
        else (_REQUESTER_AND_ROUTED_TEAM, {"category": data.category})
    )
    row = (await session.execute(statement, {"requester_id": requester_id, **params})).one_or_none()
    requester, team = (None, None) if row is None else row
    requester = checked_requester(actor, requester)
    if data.team_id is not None:
        team = _checked_team(data.team_id, team)
    return requester, team


# One answer for every requester that cannot be one (nobody, deactivated, staff, an
# integration): which of them it is would tell a caller who works at the desk.
NOT_A_REQUESTER = "The requester must be an active customer."


def checked_requester(actor: User, requester: User | None) -> User:
    """`requester` if they may be one: an active customer, or the caller filing for
    themselves (staff mailing the desk). Anyone else, the same refusal."""
    if (
        requester is None
        or not requester.active
        or (requester.role is not Role.CUSTOMER and requester.id != actor.id)
    ):
        raise UnprocessableEntity(NOT_A_REQUESTER)
    return requester


def _checked_team(team_id: int, team: Team | None) -> Team:
    if team is None:
        raise UnprocessableEntity(f"Team {team_id} does not exist.")
    return team


async def require_team(session: AsyncSession, team_id: int) -> Team:
    return _checked_team(team_id, await session.get(Team, team_id))


async def _resolve_requester(session: AsyncSession, actor: User, data: TicketCreate) -> User:
    """The named requester: an existing user by id, or by email (created if unknown)."""
    if data.requester_id is not None:
        return checked_requester(actor, await session.get(User, data.requester_id))
    if data.requester is not None:
        return checked_requester(actor, await customer_by_email(session, data.requester))
    raise UnprocessableEntity("Name the requester: requester_id or requester {email}.")


async def customer_by_email(session: AsyncSession, given: RequesterIn) -> User:
    """The person with this address (any of their addresses), made a customer first if
    nobody has it."""
    email = given.email.lower()
    holder = await find_person(session, IdentityRef(IdentityKind.EMAIL, email))
    if holder is not None:
        return holder
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
