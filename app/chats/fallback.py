"""Chats nobody answered in time go on by email: the customer is mailed the transcript
(and their answers to it thread onto the ticket, like any reply to the desk's mail).

Run by the background process every `chat_fallback_check_seconds`; rows are taken with
FOR UPDATE SKIP LOCKED, so several processes never mail a chat twice.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.chats.transcript import FELL_BACK, transcript
from app.models import STAFF_ROLES, Chat, Message, Ticket, TicketStatus, User, Visibility
from app.notifications.outbox import enqueue_personal_notice
from app.notifications.rules import NoticeTopic

BATCH = 100


async def fall_back_unanswered(
    maker: async_sessionmaker[AsyncSession], after: timedelta, *, now: datetime | None = None
) -> int:
    """Hand every chat unanswered for `after` to email; returns how many."""
    now = now or datetime.now(UTC)
    answered = exists().where(
        Message.ticket_id == Chat.ticket_id,
        Message.visibility == Visibility.PUBLIC,
        Message.author_id == User.id,
        User.role.in_(STAFF_ROLES),
    )
    async with maker() as session, session.begin():
        rows = await session.execute(
            select(Chat, Ticket)
            .join(Ticket, Ticket.id == Chat.ticket_id)
            .where(
                Chat.fell_back_at.is_(None),
                Chat.created_at <= now - after,
                Ticket.status.in_([TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING]),
                ~answered,
            )
            .order_by(Chat.created_at)
            .limit(BATCH)
            .with_for_update(of=Chat, skip_locked=True)
        )
        handed = 0
        for chat, ticket in rows.all():
            chat.fell_back_at = now
            await enqueue_personal_notice(
                session,
                chat.customer_id,
                NoticeTopic.REPLIES,
                kind=FELL_BACK,
                data={"transcript": await transcript(session, ticket)},
                ticket=ticket,
            )
            handed += 1
    return handed
