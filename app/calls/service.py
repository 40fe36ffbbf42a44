"""Calls on tickets, and screen pops. Flushes, never commits.

A logged call is a `call.logged` event on the ticket's timeline. An answered call is a
conversation with the customer: the first one from staff is the ticket's first response
and opens a new ticket, as a public reply does. The customer sees that a call took
place (direction, when, how long, its outcome); the recording and the note stay with
staff.

A screen pop is a frame for one agent's WebSocket connections, sent through PostgreSQL
(pg_notify in the request's transaction): it reaches every process at commit, and only
if the transaction commits.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.calls.schemas import (
    Caller,
    CallLogCreate,
    CallLogOut,
    CallOutcome,
    IncomingCall,
    PoppedTicket,
    ScreenPop,
)
from app.errors import Forbidden, UnprocessableEntity
from app.events.kinds import EventKind
from app.events.recorder import record_event
from app.events.visibility import get_visible_ticket
from app.identities.normalise import IdentityRef, InvalidIdentity
from app.identities.service import find_or_create_customer, find_person
from app.live.hub import USER_FRAMES_CHANNEL
from app.models import STAFF_ROLES, Channel, Ticket, TicketStatus, User, Visibility
from app.tickets.filing import create_ticket
from app.tickets.schemas import TicketCreate
from app.tickets.service import move_status, touch

OPEN_STATUSES = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING)
POPPED_TICKETS = 10


async def log_call(
    session: AsyncSession, actor: User, ticket_id: int, data: CallLogCreate
) -> CallLogOut:
    ticket = await get_visible_ticket(session, actor, ticket_id, for_update=True)
    if not actor.role.is_staff:
        raise Forbidden("Only staff log calls.")
    now = datetime.now(UTC)
    started_at = data.started_at or now
    contact = data.outcome is CallOutcome.ANSWERED
    touch(ticket, now)
    event = await record_event(
        session,
        ticket,
        EventKind.CALL_LOGGED,
        actor=actor,
        visibility=Visibility.PUBLIC,
        data={
            "direction": data.direction.value,
            "from": data.from_number,
            "to": data.to_number,
            "duration_seconds": data.duration_seconds,
            "outcome": data.outcome.value,
            "recording_url": None if data.recording_url is None else str(data.recording_url),
            "note": data.note,
            "started_at": started_at.isoformat(),
            "counts_as_contact": contact,
        },
    )
    if contact:
        if ticket.first_response_at is None:
            ticket.first_response_at = now
        if ticket.status is TicketStatus.NEW:
            await move_status(session, ticket, TicketStatus.OPEN, actor=actor, now=now)
    return CallLogOut(
        event_id=event.id,
        ticket_id=ticket.id,
        direction=data.direction,
        from_number=data.from_number,
        to_number=data.to_number,
        duration_seconds=data.duration_seconds,
        outcome=data.outcome,
        recording_url=None if data.recording_url is None else str(data.recording_url),
        note=data.note,
        started_at=started_at,
        counts_as_contact=contact,
    )


async def screen_pop(
    session: AsyncSession, integration: User, call: IncomingCall, *, search_config: str
) -> ScreenPop:
    agent = await _agent(session, call)
    number = _number(call.from_number)
    caller = None if number is None else await find_person(session, number)
    ticket_id: int | None = None
    if call.create_ticket:
        ticket_id = await _ticket_for_call(
            session, integration, call, number, caller, search_config
        )
        if caller is None and number is not None:
            caller = await find_person(session, number)
    tickets: list[Ticket] = []
    if caller is not None:
        tickets = list(
            await session.scalars(
                select(Ticket)
                .where(Ticket.requester_id == caller.id, Ticket.status.in_(OPEN_STATUSES))
                .order_by(Ticket.updated_at.desc(), Ticket.id.desc())
                .limit(POPPED_TICKETS)
            )
        )
    pop = ScreenPop(
        call_id=call.call_id,
        caller=None
        if caller is None
        else Caller(id=caller.id, name=caller.name, phone=caller.phone or call.from_number),
        tickets=[
            PoppedTicket(
                id=t.id,
                subject=t.subject,
                status=t.status,
                priority=t.priority.value,
                updated_at=t.updated_at,
            )
            for t in tickets
        ],
        ticket_id=ticket_id,
        agent_id=None if agent is None else agent.id,
    )
    if agent is not None:
        frame = {"type": "screen_pop", **pop.model_dump(mode="json")}
        await session.execute(
            select(
                func.pg_notify(
                    USER_FRAMES_CHANNEL, json.dumps({"user_id": agent.id, "frame": frame})
                )
            )
        )
    return pop


async def _agent(session: AsyncSession, call: IncomingCall) -> User | None:
    if call.agent_id is None and call.agent_email is None:
        return None
    query = select(User).where(User.role.in_(STAFF_ROLES), User.active.is_(True))
    if call.agent_id is not None:
        query = query.where(User.id == call.agent_id)
    else:
        query = query.where(User.email == (call.agent_email or "").strip().lower())
    agent = await session.scalar(query)
    if agent is None:
        raise UnprocessableEntity("The answering agent is not an active staff member.")
    return agent


def _number(value: str) -> IdentityRef | None:
    """The caller's number as an identity, or None for an anonymous or odd one."""
    try:
        return IdentityRef.phone(value)
    except InvalidIdentity:
        return None


async def _ticket_for_call(
    session: AsyncSession,
    integration: User,
    call: IncomingCall,
    number: IdentityRef | None,
    caller: User | None,
    search_config: str,
) -> int:
    reference = f"call:{call.call_id}"[:200]
    existing = await session.scalar(
        select(Ticket.id).where(
            Ticket.created_by_id == integration.id, Ticket.external_ref == reference
        )
    )
    if existing is not None:
        return existing
    if caller is None:
        if number is None:
            raise UnprocessableEntity(
                f"{call.from_number!r} is not a phone number a customer can be known by."
            )
        caller = (await find_or_create_customer(session, number)).user
    if caller.role.is_staff or not caller.active:
        raise UnprocessableEntity("The caller's number belongs to staff or a deactivated user.")
    if not caller.phone and number is not None:
        caller.phone = number.value
    data = TicketCreate.model_construct(
        subject=call.subject or f"Call from {call.from_number}",
        description=f"Phone call {call.call_id} from {call.from_number}.",
        channel=Channel.PHONE,
        urgency=TicketCreate.model_fields["urgency"].default,
        impact=TicketCreate.model_fields["impact"].default,
        category=None,
        tags=[],
        team_id=None,
        requester_id=caller.id,
        requester=None,
        external_ref=reference,
    )
    filed = await create_ticket(session, integration, data, search_config=search_config)
    return filed.ticket.id
