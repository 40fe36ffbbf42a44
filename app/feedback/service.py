"""Feedback use cases: file it (or flag a message as feedback), triage it, walk it through
its lifecycle, link duplicates, count votes.

Each is one transaction (the request's): services flush and never commit. The customer
behind a record (and behind each of its duplicates) hears about every step through the
outbox.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import func

from app.errors import Conflict, NotFound, UnprocessableEntity
from app.events.visibility import get_visible_ticket
from app.feedback import complaints, notices
from app.feedback.schemas import (
    NOT_NULLABLE_FEEDBACK_FIELDS,
    FeedbackCreate,
    FeedbackStatusChange,
    FeedbackUpdate,
    MessageFeedbackCreate,
    VoteCreate,
)
from app.feedback.visibility import get_visible_feedback, may_see
from app.models import (
    Channel,
    Feedback,
    FeedbackChange,
    FeedbackKind,
    FeedbackStatus,
    FeedbackVote,
    Message,
    Role,
    Ticket,
    User,
    Visibility,
)
from app.tickets.filing import NOT_A_REQUESTER, customer_by_email
from app.tickets.schemas import RequesterIn

VOTABLE_KINDS = frozenset({FeedbackKind.SUGGESTION, FeedbackKind.IMPROVEMENT_REQUEST})

_S = FeedbackStatus
MOVES: dict[FeedbackStatus, tuple[FeedbackStatus, ...]] = {
    _S.NEW: (_S.ACKNOWLEDGED, _S.DECLINED),
    _S.ACKNOWLEDGED: (_S.PLANNED, _S.DONE, _S.DECLINED),
    _S.PLANNED: (_S.DONE, _S.DECLINED),
    _S.DONE: (),  # final
    _S.DECLINED: (),  # final
}

_MAX_BODY = 20_000


# Filing ----------------------------------------------------------------------------


async def file_feedback(
    session: AsyncSession, actor: User, data: FeedbackCreate, *, search_config: str
) -> Feedback:
    ticket = None
    if data.ticket_id is not None:
        ticket = await get_visible_ticket(session, actor, data.ticket_id, for_update=True)
    customer = await _customer_for(session, actor, data.customer_id, data.customer)
    if customer is None and ticket is not None:
        requester = await session.get(User, ticket.requester_id)
        customer = requester if requester and requester.role is Role.CUSTOMER else None
    if customer is not None and ticket is not None and ticket.requester_id != customer.id:
        raise UnprocessableEntity(
            f"Ticket {ticket.id} was filed by another requester; feedback about it is theirs."
        )
    return await _file(
        session,
        actor,
        kind=data.kind,
        body=data.body,
        customer=customer,
        ticket=ticket,
        message_id=None,
        category=data.category,
        tags=data.tags,
        channel=data.channel or _default_channel(actor, ticket),
        search_config=search_config,
    )


async def flag_message(
    session: AsyncSession,
    actor: User,
    ticket_id: int,
    message_id: int,
    data: MessageFeedbackCreate,
    *,
    search_config: str,
) -> Feedback:
    """An agent marks what a customer said in a conversation as feedback."""
    ticket = await get_visible_ticket(session, actor, ticket_id, for_update=True)
    message = await session.get(Message, message_id)
    if message is None or message.ticket_id != ticket.id:
        raise NotFound(f"Message {message_id} does not exist on ticket {ticket_id}.")
    if message.visibility is Visibility.INTERNAL and data.body is None:
        raise UnprocessableEntity(
            "An internal note is not for the customer's eyes: give the feedback a body."
        )
    writer = await session.get(User, message.author_id)
    customer = writer if writer is not None and writer.role is Role.CUSTOMER else None
    if customer is None:
        requester = await session.get(User, ticket.requester_id)
        customer = requester if requester and requester.role is Role.CUSTOMER else None
    return await _file(
        session,
        actor,
        kind=data.kind,
        body=data.body or (message.body.strip() or message.body)[:_MAX_BODY],
        customer=customer,
        ticket=ticket,
        message_id=message.id,
        category=data.category,
        tags=data.tags,
        channel=message.channel,
        search_config=search_config,
    )


async def _file(
    session: AsyncSession,
    actor: User,
    *,
    kind: FeedbackKind,
    body: str,
    customer: User | None,
    ticket: Ticket | None,
    message_id: int | None,
    category: str | None,
    tags: list[str],
    channel: Channel,
    search_config: str,
) -> Feedback:
    now = datetime.now(UTC)
    feedback = Feedback(
        kind=kind,
        status=FeedbackStatus.NEW,
        body=body,
        author_id=actor.id,
        customer_id=None if customer is None else customer.id,
        ticket_id=None if ticket is None else ticket.id,
        message_id=message_id,
        category=category,
        tags=tags,
        channel=channel,
        search=search_vector(search_config, body, category, tags, None),
        created_at=now,
        updated_at=now,
    )
    session.add(feedback)
    await session.flush()
    session.add(
        FeedbackChange(
            feedback_id=feedback.id, to_status=FeedbackStatus.NEW, actor_id=actor.id, created_at=now
        )
    )
    if kind is FeedbackKind.COMPLAINT:
        ticket = await complaints.take_up(session, actor, feedback, now, search_config)
    elif ticket is not None:
        await complaints.record_received(session, actor, ticket, feedback, now)
    await session.flush()
    # Like a ticket, feedback is always acknowledged to the customer behind it (even to
    # one who filed it); staff and integrations filing for nobody know what they did.
    if customer is not None:
        await notices.tell_filed(session, customer.id, feedback, ticket)
    return feedback


async def _customer_for(
    session: AsyncSession, actor: User, customer_id: int | None, given: Any
) -> User | None:
    """The customer behind it: the caller if a customer, else the one staff or an
    integration named (an unknown email becomes a new customer)."""
    if actor.role is Role.CUSTOMER:
        if customer_id is not None or given is not None:
            raise UnprocessableEntity("Customers speak for themselves: leave out customer.")
        return actor
    if customer_id is not None:
        customer = await session.get(User, customer_id)
    elif given is not None:
        customer = await customer_by_email(
            session, RequesterIn(email=given.email, name=given.name, phone=given.phone)
        )
    else:
        return None
    # The same answer whoever the address belongs to (staff, an integration, nobody
    # active): "X is not a customer" would tell who works at the desk.
    if customer is None or customer.role is not Role.CUSTOMER or not customer.active:
        raise UnprocessableEntity(NOT_A_REQUESTER)
    return customer


def _default_channel(actor: User, ticket: Ticket | None) -> Channel:
    if actor.role is Role.CUSTOMER:
        return Channel.WEB
    if actor.role is Role.INTEGRATION:
        return Channel.API
    return ticket.channel if ticket is not None else Channel.PHONE


def search_vector(
    config: str, body: str, category: str | None, tags: Iterable[str], response: str | None
) -> ColumnElement[str]:
    text = "\n".join([body[:_MAX_BODY], category or "", " ".join(tags), response or ""])
    return func.to_tsvector(config, text, type_=TSVECTOR)


def _told(feedback: Feedback) -> int:
    """Who hears about a record: the customer behind it, else whoever filed it."""
    return feedback.customer_id if feedback.customer_id is not None else feedback.author_id


async def _ticket_of(session: AsyncSession, feedback: Feedback) -> Ticket | None:
    return None if feedback.ticket_id is None else await session.get(Ticket, feedback.ticket_id)


# Triage -------------------------------------------------------------------------------


async def update_feedback(
    session: AsyncSession,
    actor: User,
    feedback_id: int,
    data: FeedbackUpdate,
    *,
    search_config: str,
) -> Feedback:
    changes = data.model_dump(exclude_unset=True)
    nulled = sorted(
        k for k, v in changes.items() if v is None and k in NOT_NULLABLE_FEEDBACK_FIELDS
    )
    if nulled:
        raise UnprocessableEntity(f"These fields cannot be null: {', '.join(nulled)}.")
    feedback = await get_visible_feedback(session, actor, feedback_id, for_update=True)
    now = datetime.now(UTC)
    if "primary_id" in changes:
        await _link(session, actor, feedback, changes["primary_id"], now, search_config)
    old_kind = feedback.kind
    for field in ("kind", "category", "tags"):
        if field in changes:
            setattr(feedback, field, changes[field])
    feedback.updated_at = now
    feedback.search = _current_vector(search_config, feedback)
    await session.flush()
    if feedback.kind is FeedbackKind.COMPLAINT and old_kind is not FeedbackKind.COMPLAINT:
        # Reclassified as a complaint: it is urgent now, like one filed as such.
        await complaints.take_up(session, actor, feedback, now, search_config)
    return feedback


async def _link(
    session: AsyncSession,
    actor: User,
    feedback: Feedback,
    primary_id: int | None,
    now: datetime,
    search_config: str,
) -> None:
    """Mark `feedback` (and whatever was merged into it) a duplicate of one primary record,
    which then carries the lifecycle for all of them; null undoes the link."""
    if primary_id is None:
        feedback.primary_id = None
        return
    if primary_id == feedback.id:
        raise UnprocessableEntity("A record cannot be a duplicate of itself.")
    primary = await session.get(Feedback, primary_id, with_for_update=True)
    if primary is None:
        raise UnprocessableEntity(f"Feedback {primary_id} does not exist.")
    root = primary
    if primary.primary_id is not None:  # link to the primary's own primary: one level only
        found = await session.get(Feedback, primary.primary_id, with_for_update=True)
        assert found is not None
        root = found
    if root.id == feedback.id:
        raise Conflict(f"Feedback {primary_id} is already a duplicate of {feedback.id}.")
    members = [
        feedback,
        *await session.scalars(
            select(Feedback).where(Feedback.primary_id == feedback.id).with_for_update()
        ),
    ]
    for member in members:
        member.primary_id = root.id
        await _follow(session, actor, member, root, now, search_config)


async def _follow(
    session: AsyncSession,
    actor: User,
    member: Feedback,
    root: Feedback,
    now: datetime,
    search_config: str,
) -> None:
    """A duplicate shows its primary's status and response; its customer hears of a change."""
    changed = member.status is not root.status or member.public_response != root.public_response
    if not changed:
        return
    status_changed = member.status is not root.status
    _step(session, actor, member, root.status, root.public_response, now, search_config)
    if status_changed and _told(member) != actor.id:
        await notices.tell_status(session, _told(member), member, await _ticket_of(session, member))


def _step(
    session: AsyncSession,
    actor: User,
    feedback: Feedback,
    to: FeedbackStatus,
    response: str | None,
    now: datetime,
    search_config: str,
) -> None:
    old = feedback.status
    feedback.status = to
    feedback.public_response = response
    feedback.updated_at = now
    feedback.search = _current_vector(search_config, feedback)
    if old is not to:
        session.add(
            FeedbackChange(
                feedback_id=feedback.id,
                from_status=old,
                to_status=to,
                public_response=response,
                actor_id=actor.id,
                created_at=now,
            )
        )


def _current_vector(config: str, feedback: Feedback) -> ColumnElement[str]:
    return search_vector(
        config, feedback.body, feedback.category, feedback.tags, feedback.public_response
    )


async def change_status(
    session: AsyncSession,
    actor: User,
    feedback_id: int,
    data: FeedbackStatusChange,
    *,
    search_config: str,
) -> Feedback:
    """One step of the lifecycle, applied to the record and every duplicate of it."""
    feedback = await get_visible_feedback(session, actor, feedback_id, for_update=True)
    if feedback.primary_id is not None:
        raise Conflict(
            f"Feedback {feedback.id} is a duplicate of {feedback.primary_id}: "
            f"change the status of {feedback.primary_id}.",
            extra={"primary_id": feedback.primary_id},
        )
    allowed = MOVES[feedback.status]
    if data.status not in allowed:
        names = [status.value for status in allowed]
        raise Conflict(
            f"Feedback that is {feedback.status.value} cannot move to {data.status.value}; "
            f"allowed: {', '.join(names) or 'none (it is final)'}.",
            extra={"allowed": names, "current": feedback.status.value},
        )
    now = datetime.now(UTC)
    response = data.public_response or feedback.public_response
    duplicates = list(
        await session.scalars(
            select(Feedback)
            .where(Feedback.primary_id == feedback.id)
            .order_by(Feedback.id)
            .with_for_update()
        )
    )
    told: set[int] = {actor.id}
    for record in [feedback, *duplicates]:
        _step(session, actor, record, data.status, response, now, search_config)
        recipient = _told(record)
        if recipient not in told:
            told.add(recipient)
            await notices.tell_status(session, recipient, record, await _ticket_of(session, record))
    await session.flush()
    return feedback


# Votes --------------------------------------------------------------------------------


async def vote(
    session: AsyncSession, actor: User, feedback_id: int, data: VoteCreate
) -> FeedbackVote:
    """One customer behind a suggestion or improvement request, once.

    Customers may vote for records they cannot read (a vote shows them nothing back);
    anything they may neither read nor vote for is simply not found.
    """
    feedback = await session.get(Feedback, feedback_id)
    if feedback is None or (not may_see(actor, feedback) and feedback.kind not in VOTABLE_KINDS):
        raise NotFound(f"Feedback {feedback_id} does not exist.")
    root_id = feedback.primary_id or feedback.id
    root = await session.get(Feedback, root_id, with_for_update=True, populate_existing=True)
    assert root is not None
    if root.kind not in VOTABLE_KINDS:
        if not may_see(actor, root):
            raise NotFound(f"Feedback {feedback_id} does not exist.")
        raise Conflict(
            f"Only suggestions and improvement requests take votes; {root.id} is a "
            f"{root.kind.value}."
        )
    customer = await _customer_for(session, actor, data.customer_id, data.customer)
    if customer is None:
        raise UnprocessableEntity("Name the customer who votes: customer_id or customer.")
    if await _is_behind(session, root.id, customer.id):
        raise Conflict(
            f"Customer {customer.id} is already counted behind feedback {root.id}.",
            extra={"feedback_id": root.id},
        )
    ballot = FeedbackVote(
        feedback_id=root.id,
        customer_id=customer.id,
        recorded_by_id=actor.id,
        created_at=datetime.now(UTC),
    )
    session.add(ballot)
    await session.flush()
    return ballot


def _group(root_id: int) -> ColumnElement[bool]:
    return or_(Feedback.id == root_id, Feedback.primary_id == root_id)


async def _is_behind(session: AsyncSession, root_id: int, customer_id: int) -> bool:
    authored = select(Feedback.id).where(_group(root_id), Feedback.customer_id == customer_id)
    voted = (
        select(FeedbackVote.id)
        .join(Feedback, Feedback.id == FeedbackVote.feedback_id)
        .where(_group(root_id), FeedbackVote.customer_id == customer_id)
    )
    found = await session.scalar(select(authored.exists() | voted.exists()))
    return bool(found)


async def list_votes(
    session: AsyncSession, feedback_id: int, *, after_id: int | None, limit: int
) -> list[FeedbackVote]:
    """The votes behind a record and its duplicates (staff), oldest first."""
    feedback = await session.get(Feedback, feedback_id)
    if feedback is None:
        raise NotFound(f"Feedback {feedback_id} does not exist.")
    root_id = feedback.primary_id or feedback.id
    query = (
        select(FeedbackVote)
        .join(Feedback, Feedback.id == FeedbackVote.feedback_id)
        .where(_group(root_id))
        .order_by(FeedbackVote.id)
        .limit(limit)
    )
    if after_id is not None:
        query = query.where(FeedbackVote.id > after_id)
    return list(await session.scalars(query))
