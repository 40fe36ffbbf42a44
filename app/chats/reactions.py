"""When a chat ends (resolved or closed) and its customer asked for the transcript, it
goes with the outbox's other notices about the change, once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select

from app.chats.transcript import TRANSCRIPT, transcript
from app.events.reactions import Batch
from app.events.records import Recorded
from app.models import Channel, Chat, TicketStatus
from app.notifications.outbox import PERSONAL_NOTICES, PersonalNotice
from app.notifications.rules import NoticeTopic

_ENDED = frozenset({TicketStatus.RESOLVED.value, TicketStatus.CLOSED.value})


async def mail_transcripts(batch: Batch, recorded: Sequence[Recorded]) -> None:
    ended = {
        item.ticket.id: item.ticket
        for item in recorded
        if item.ticket.channel is Channel.CHAT and item.event.data.get("to") in _ENDED
    }
    if not ended:
        return
    chats = await batch.session.scalars(
        select(Chat)
        .where(
            Chat.ticket_id.in_(ended),
            Chat.transcript_requested.is_(True),
            Chat.transcript_sent_at.is_(None),
        )
        .with_for_update()
    )
    now = datetime.now(UTC)
    for chat in chats:
        chat.transcript_sent_at = now
        ticket = ended[chat.ticket_id]
        batch.leave(
            PERSONAL_NOTICES,
            PersonalNotice(
                chat.customer_id,
                NoticeTopic.STATUS,
                kind=TRANSCRIPT,
                data={"transcript": await transcript(batch.session, ticket)},
                ticket=ticket,
            ),
        )
