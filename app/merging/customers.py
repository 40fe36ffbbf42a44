"""Merging two customer records that are one person (a second record made when they
wrote from a new address, say).

Everything of the merged record follows the survivor: its tickets (each with a
`ticket.requester_changed` on its timeline), its identities, what it follows, its
surveys, its feedback and votes, and the notices still waiting to be sent to it. The
merged record is deactivated (its tokens revoked, its live connections closed) and
points at the survivor in `customer_merges`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import and_, delete, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.auth.notices import announce_access_changed
from app.errors import Conflict, NotFound, UnprocessableEntity
from app.events.kinds import EventKind
from app.events.recorder import record_events
from app.events.records import NewEvent, person
from app.merging.schemas import CustomerMergeOut
from app.models import (
    ApiToken,
    ChannelThread,
    Chat,
    CustomerMerge,
    DeliveryStatus,
    Feedback,
    FeedbackVote,
    Identity,
    NotificationDelivery,
    Role,
    SatisfactionSurvey,
    SignInLink,
    Ticket,
    TicketFollower,
    User,
    Visibility,
)
from app.tickets.service import touch


async def merge_customers(
    session: AsyncSession, actor: User, merged_id: int, survivor_id: int
) -> CustomerMergeOut:
    if merged_id == survivor_id:
        raise UnprocessableEntity(
            "A customer cannot be merged into themselves.", loc=("body", "into_id")
        )
    merged, survivor = await _lock_customers(session, merged_id, survivor_id)
    now = datetime.now(UTC)

    tickets = list(
        await session.scalars(
            select(Ticket)
            .where(Ticket.requester_id == merged.id)
            .order_by(Ticket.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )
    data = {"from": person(merged), "to": person(survivor), "reason": "customer_merge"}
    for ticket in tickets:
        ticket.requester_id = survivor.id
        touch(ticket, now)
    await record_events(
        session,
        [
            NewEvent.of(
                ticket,
                EventKind.REQUESTER_CHANGED,
                actor=actor,
                visibility=Visibility.INTERNAL,
                data=data,
            )
            for ticket in tickets
        ],
    )
    moved = await session.execute(
        update(Identity).where(Identity.user_id == merged.id).values(user_id=survivor.id)
    )
    identities_moved = int(getattr(moved, "rowcount", 0) or 0)
    await _move_rows(session, merged.id, survivor.id)

    merged.active = False
    session.add(CustomerMerge(merged_id=merged.id, survivor_id=survivor.id, actor_id=actor.id))
    await session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == merged.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    await session.execute(
        delete(SignInLink).where(SignInLink.user_id == merged.id, SignInLink.used_at.is_(None))
    )
    await session.flush()
    await announce_access_changed(session, merged.id)
    return CustomerMergeOut(
        merged_id=merged.id,
        survivor_id=survivor.id,
        tickets_moved=len(tickets),
        identities_moved=identities_moved,
    )


async def _lock_customers(
    session: AsyncSession, merged_id: int, survivor_id: int
) -> tuple[User, User]:
    rows = await session.scalars(
        select(User)
        .where(User.id.in_([merged_id, survivor_id]))
        .order_by(User.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    users = {user.id: user for user in rows}
    for user_id in (merged_id, survivor_id):
        if user_id not in users:
            raise NotFound(f"User {user_id} does not exist.")
    merged, survivor = users[merged_id], users[survivor_id]
    for user in (merged, survivor):
        if user.role is not Role.CUSTOMER:
            raise UnprocessableEntity(f"User {user.id} is not a customer; only customers merge.")
    already = await session.scalar(
        select(CustomerMerge.survivor_id).where(
            CustomerMerge.merged_id.in_([merged.id, survivor.id])
        )
    )
    if already is not None:
        raise Conflict(
            "One of these customers was already merged (into "
            f"{already}); merge into that record instead.",
            extra={"survivor_id": already},
        )
    if not survivor.active:
        raise UnprocessableEntity(f"Customer {survivor.id} is deactivated; activate them first.")
    return merged, survivor


async def _move_rows(session: AsyncSession, merged_id: int, survivor_id: int) -> None:
    """What else the merged record holds. Where the survivor already has the same row (a
    follow, a vote), the merged one's is dropped."""
    other = aliased(TicketFollower)
    await session.execute(
        delete(TicketFollower).where(
            TicketFollower.user_id == merged_id,
            exists().where(
                and_(other.ticket_id == TicketFollower.ticket_id, other.user_id == survivor_id)
            ),
        )
    )
    await session.execute(
        update(TicketFollower)
        .where(TicketFollower.user_id == merged_id)
        .values(user_id=survivor_id)
    )
    vote = aliased(FeedbackVote)
    await session.execute(
        delete(FeedbackVote).where(
            FeedbackVote.customer_id == merged_id,
            exists().where(
                and_(vote.feedback_id == FeedbackVote.feedback_id, vote.customer_id == survivor_id)
            ),
        )
    )
    await session.execute(
        update(FeedbackVote)
        .where(FeedbackVote.customer_id == merged_id)
        .values(customer_id=survivor_id)
    )
    await session.execute(
        update(SatisfactionSurvey)
        .where(SatisfactionSurvey.requester_id == merged_id)
        .values(requester_id=survivor_id)
    )
    await session.execute(
        update(Feedback).where(Feedback.customer_id == merged_id).values(customer_id=survivor_id)
    )
    await session.execute(
        update(Feedback).where(Feedback.author_id == merged_id).values(author_id=survivor_id)
    )
    # Their conversations on other channels (a social thread, an SMS number) and chats.
    await session.execute(
        update(ChannelThread)
        .where(ChannelThread.customer_id == merged_id)
        .values(customer_id=survivor_id)
    )
    await session.execute(
        update(Chat).where(Chat.customer_id == merged_id).values(customer_id=survivor_id)
    )
    # News not yet sent reaches the person at their surviving record.
    await session.execute(
        update(NotificationDelivery)
        .where(
            NotificationDelivery.recipient_id == merged_id,
            NotificationDelivery.status == DeliveryStatus.PENDING,
        )
        .values(recipient_id=survivor_id, updated_at=func.now())
    )
