"""Recording an inbound message, whatever its channel: who sent it, which ticket it
belongs to, and the change it makes there, through the ticket and conversation
services like any other change.

- a message on an open ticket is the sender's message there (a requester's reply
  reopens a resolved or pending ticket; a staff member's is their public reply);
- on a closed ticket it opens a follow-up ticket, linked to the closed one and given
  to its owner when they can take it, whose brief carries the earlier case;
- without a ticket (or from a stranger to the one it names) it is a new ticket;
- an automatic answer is an internal note on its ticket, which it never reopens, and
  nobody is told; without a ticket it is ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.attachments.records import NewAttachment
from app.conversations.service import add_message
from app.events.kinds import QUIET, EventKind
from app.events.recorder import record_event
from app.inbound import identify, threads
from app.inbound.intake import Decision, IncomingMessage, Refused, Sent
from app.models import (
    STAFF_ROLES,
    IntakeOutcome,
    Role,
    Ticket,
    TicketFollower,
    TicketStatus,
    User,
    Visibility,
)
from app.tickets.filing import create_ticket
from app.tickets.schemas import TicketCreate
from app.tickets.service import OWNER_ROLES, change_owner, touch

NO_SUBJECT = "(no subject)"
NO_TEXT = "(no text)"


async def deliver(
    session: AsyncSession,
    message: IncomingMessage,
    *,
    search_config: str,
    files: Sequence[NewAttachment] = (),
    candidates: list[tuple[int, str]] | None = None,
) -> Decision:
    """Record `message` (see the module's docstring). `candidates` are the tickets its
    hints point at (`threads.candidates`), most trusted first."""
    sender = await identify.find_sender(session, message.sender)
    if sender is not None and not sender.active:
        raise Refused("sender_deactivated", f"the sender's account ({sender.email}) is deactivated")
    if sender is not None and sender.role is Role.INTEGRATION:
        raise Refused("sender_is_integration", "the sender is an integration account")
    threaded = await threads.find_ticket(session, sender, candidates or [])
    ticket = threaded.ticket
    strangers = (
        f"the sender is not on ticket {', '.join(f'#{t}' for t in threaded.strangers_to)}"
        if threaded.strangers_to
        else None
    )

    if message.sent is Sent.AUTO_REPLY:
        return await _automatic_answer(session, message, sender, ticket, search_config, files)
    if ticket is not None and sender is not None:
        if ticket.status is TicketStatus.CLOSED:
            if sender.role.is_staff:
                raise Refused(
                    "closed_ticket",
                    f"ticket #{ticket.id} is closed; a staff reply cannot reopen it",
                )
            return await _follow_up(session, message, sender, ticket, search_config, files)
        return await _append(session, message, sender, ticket, search_config, files)
    requester = sender or await identify.customer_for(session, message.sender)
    decision = await _new_ticket(session, message, requester, search_config, files)
    if strangers is not None:
        return Decision(decision.outcome, decision.ticket_id, None, strangers, "not_on_ticket")
    return decision


async def _append(
    session: AsyncSession,
    message: IncomingMessage,
    sender: User,
    ticket: Ticket,
    search_config: str,
    files: Sequence[NewAttachment],
) -> Decision:
    automated = message.sent is Sent.AUTOMATED
    recorded, _ = await add_message(
        session,
        ticket,
        sender,
        body=_text(message),
        visibility=Visibility.PUBLIC,
        channel=message.channel,
        search_config=search_config,
        files=files,
        # A machine's mail (an alert, a list) never reopens a case, nor is it answered.
        moves_status=not automated,
        event_data={QUIET: True, "automatic": True} if automated else None,
    )
    await _copied_staff_follow(session, ticket.id, message, sender)
    return Decision(IntakeOutcome.APPENDED, ticket.id, recorded.id)


async def _automatic_answer(
    session: AsyncSession,
    message: IncomingMessage,
    sender: User | None,
    ticket: Ticket | None,
    search_config: str,
    files: Sequence[NewAttachment],
) -> Decision:
    if ticket is None or sender is None:
        return Decision(
            IntakeOutcome.IGNORED,
            reason="an automatic reply (out of office, autoresponder) to no ticket",
            reason_code="auto_reply",
        )
    if ticket.status is TicketStatus.CLOSED:
        reason = "an automatic reply to a closed ticket"
        await _ignored_on(session, ticket, sender, reason)
        return Decision(IntakeOutcome.IGNORED, ticket.id, None, reason, "auto_reply")
    recorded, _ = await add_message(
        session,
        ticket,
        sender,
        body=_text(message),
        visibility=Visibility.INTERNAL,
        channel=message.channel,
        search_config=search_config,
        files=files,
        moves_status=False,
        event_data={QUIET: True, "automatic": True},
    )
    return Decision(
        IntakeOutcome.APPENDED,
        ticket.id,
        recorded.id,
        "an automatic reply, kept as an internal note",
        "auto_reply",
    )


async def _new_ticket(
    session: AsyncSession,
    message: IncomingMessage,
    requester: User,
    search_config: str,
    files: Sequence[NewAttachment],
    *,
    follow_up_of: Ticket | None = None,
) -> Decision:
    data = TicketCreate.model_construct(
        subject=_subject(message.subject, follow_up_of),
        description=_text(message),
        channel=message.channel,
        urgency=follow_up_of.urgency
        if follow_up_of
        else TicketCreate.model_fields["urgency"].default,
        impact=follow_up_of.impact if follow_up_of else TicketCreate.model_fields["impact"].default,
        category=follow_up_of.category if follow_up_of else None,
        tags=[],
        team_id=follow_up_of.team_id if follow_up_of else message.team_id,
        requester_id=requester.id,
        requester=None,
        external_ref=None,
    )
    quiet = {QUIET: True} if message.sent is Sent.AUTOMATED else None
    filed = await create_ticket(
        session,
        requester,
        data,
        search_config=search_config,
        files=files,
        follow_up_of=follow_up_of,
        created_data=quiet,
    )
    await _copied_staff_follow(session, filed.ticket.id, message, requester)
    outcome = IntakeOutcome.CREATED if follow_up_of is None else IntakeOutcome.FOLLOWUP
    return Decision(outcome, filed.ticket.id)


async def _follow_up(
    session: AsyncSession,
    message: IncomingMessage,
    sender: User,
    closed: Ticket,
    search_config: str,
    files: Sequence[NewAttachment],
) -> Decision:
    """A reply to a closed ticket: a new ticket following it up, for the same contact
    when they can take it (the customer is not bounced to someone new)."""
    decision = await _new_ticket(
        session, message, sender, search_config, files, follow_up_of=closed
    )
    assert decision.ticket_id is not None
    follow_up = await session.get(Ticket, decision.ticket_id)
    assert follow_up is not None
    owner = None if closed.owner_id is None else await session.get(User, closed.owner_id)
    if (
        owner is not None
        and owner.active
        and owner.role in OWNER_ROLES
        and follow_up.owner_id != owner.id
    ):
        await change_owner(session, follow_up, owner, actor=None, reason="routing")
    touch(closed, datetime.now(UTC))
    await record_event(
        session,
        closed,
        EventKind.FOLLOW_UP_OPENED,
        actor=sender,
        visibility=Visibility.PUBLIC,
        data={"follow_up": {"id": follow_up.id, "subject": follow_up.subject}, QUIET: True},
    )
    return Decision(
        IntakeOutcome.FOLLOWUP,
        follow_up.id,
        None,
        f"ticket #{closed.id} is closed; #{follow_up.id} follows it up",
        "follow_up",
    )


async def _ignored_on(
    session: AsyncSession, ticket: Ticket, actor: User | None, reason: str
) -> None:
    """An internal `email.ignored` on the ticket a mail was about (nobody is told)."""
    touch(ticket, datetime.now(UTC))
    await record_event(
        session,
        ticket,
        EventKind.EMAIL_IGNORED,
        actor=actor,
        visibility=Visibility.INTERNAL,
        data={"reason": reason, QUIET: True},
    )


async def _copied_staff_follow(
    session: AsyncSession, ticket_id: int, message: IncomingMessage, sender: User
) -> None:
    """Known staff copied on the message follow the ticket from now on."""
    if not message.addressed:
        return
    people = await identify.find_people(session, list(message.addressed))
    staff = [p.id for p in people if p.role in STAFF_ROLES and p.active and p.id != sender.id]
    if staff:
        await session.execute(
            pg_insert(TicketFollower)
            .values([{"ticket_id": ticket_id, "user_id": user_id} for user_id in staff])
            .on_conflict_do_nothing()
        )


def _text(message: IncomingMessage) -> str:
    text = message.body.strip() or message.full_text.strip()
    return text[:100_000] if text else NO_TEXT


def _subject(subject: str, follow_up_of: Ticket | None) -> str:
    subject = " ".join(subject.split())[:300] or (
        follow_up_of.subject if follow_up_of is not None else NO_SUBJECT
    )
    return subject[:300]
