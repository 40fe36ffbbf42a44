"""Chat use cases. Flushes, never commits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import distinct, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.chats.schemas import Availability, ChatCreate, ChatOut
from app.errors import Forbidden, UnprocessableEntity
from app.models import (
    PRESENCE_FRESH_SECONDS,
    STAFF_ROLES,
    Channel,
    Chat,
    LivePresence,
    Role,
    TeamMember,
    User,
)
from app.tickets.filing import create_ticket
from app.tickets.schemas import TicketCreate

SUBJECT_CHARS = 80


async def open_chat(
    session: AsyncSession,
    actor: User,
    data: ChatCreate,
    *,
    search_config: str,
    fallback_after: timedelta,
) -> ChatOut:
    customer = await _customer(session, actor, data.customer_id)
    subject = data.subject or _subject(data.message)
    ticket = TicketCreate.model_construct(
        subject=subject,
        description=data.message,
        channel=Channel.CHAT,
        urgency=TicketCreate.model_fields["urgency"].default,
        impact=TicketCreate.model_fields["impact"].default,
        category=None,
        tags=[],
        team_id=data.team_id,
        requester_id=None if actor.id == customer.id else customer.id,
        requester=None,
        external_ref=None,
    )
    filed = await create_ticket(session, actor, ticket, search_config=search_config)
    now = datetime.now(UTC)
    await session.execute(
        insert(Chat).values(
            ticket_id=filed.ticket.id,
            customer_id=customer.id,
            transcript_requested=data.transcript_by_email,
            created_at=now,
        )
    )
    return ChatOut(
        ticket_id=filed.ticket.id,
        status=filed.ticket.status.value,
        transcript_by_email=data.transcript_by_email,
        fallback_at=now + fallback_after,
        created_at=now,
    )


async def availability(session: AsyncSession, team_id: int | None) -> Availability:
    """Staff connected now (in any process), of the team when one is named."""
    fresh = datetime.now(UTC) - timedelta(seconds=PRESENCE_FRESH_SECONDS)
    query = (
        select(func.count(distinct(LivePresence.user_id)))
        .join(User, User.id == LivePresence.user_id)
        .where(
            LivePresence.last_seen_at >= fresh,
            User.active.is_(True),
            User.role.in_(STAFF_ROLES),
        )
    )
    if team_id is not None:
        query = query.join(
            TeamMember,
            (TeamMember.user_id == LivePresence.user_id) & (TeamMember.team_id == team_id),
        )
    online = int(await session.scalar(query) or 0)
    return Availability(available=online > 0, agents_online=online, team_id=team_id)


async def _customer(session: AsyncSession, actor: User, customer_id: int | None) -> User:
    """Whose chat it is: the customer opening it, or the one staff start it with."""
    if actor.role is Role.CUSTOMER:
        if customer_id is not None and customer_id != actor.id:
            raise UnprocessableEntity("A customer opens chats for themselves: no customer_id.")
        return actor
    if not actor.role.is_staff:
        raise Forbidden("Chats are between customers and staff.")
    if customer_id is None:
        raise UnprocessableEntity("Name the customer to chat with: customer_id.")
    customer = await session.get(User, customer_id)
    if customer is None or customer.role is not Role.CUSTOMER or not customer.active:
        raise UnprocessableEntity(f"User {customer_id} is not an active customer.")
    return customer


def _subject(message: str) -> str:
    first = " ".join(message.split())
    return first if len(first) <= SUBJECT_CHARS else first[: SUBJECT_CHARS - 1] + "…"
