"""Conversation use cases: replies and internal notes on a ticket, and reading them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.attachments import records as attachment_records
from app.attachments.records import NewAttachment
from app.conversations.schemas import MessageCreate
from app.errors import Conflict, Forbidden
from app.events.kinds import EventKind
from app.events.recorder import record_event
from app.events.visibility import (
    get_visible_ticket,
    message_clause,
    narrow_to_timeline,
    sees_internal,
    timeline_ticket_ids,
)
from app.models import Attachment, Channel, Message, Role, Ticket, TicketStatus, User, Visibility
from app.tickets import search
from app.tickets.lifecycle import status_after_requester_reply
from app.tickets.service import move_status, touch


async def post_message(
    session: AsyncSession,
    author: User,
    ticket_id: int,
    data: MessageCreate,
    *,
    search_config: str,
    files: Sequence[NewAttachment] = (),
) -> tuple[Message, Ticket, list[Attachment]]:
    ticket = await get_visible_ticket(session, author, ticket_id, for_update=True)
    if data.visibility is Visibility.INTERNAL and not sees_internal(author):
        raise Forbidden("Only staff can write internal notes.")
    if ticket.status is TicketStatus.CLOSED:
        raise Conflict(f"Ticket {ticket.id} is closed; please open a new request.")
    message, attached = await add_message(
        session,
        ticket,
        author,
        body=data.body,
        visibility=data.visibility,
        channel=data.channel or _default_channel(author, ticket),
        search_config=search_config,
        files=files,
    )
    return message, ticket, attached


async def add_message(
    session: AsyncSession,
    ticket: Ticket,
    author: User,
    *,
    body: str,
    visibility: Visibility,
    channel: Channel,
    search_config: str,
    files: Sequence[NewAttachment] = (),
    moves_status: bool = True,
    event_data: dict[str, Any] | None = None,
) -> tuple[Message, list[Attachment]]:
    """A message on a ticket its caller has locked and checked, with its files, its
    `message.created` event and what it does to the lifecycle (`moves_status` False:
    nothing, as for an automatic answer). `event_data` adds to the event's data."""
    now = datetime.now(UTC)
    message = Message(
        ticket_id=ticket.id,
        author_id=author.id,
        visibility=visibility,
        channel=channel,
        body=body,
        created_at=now,
    )
    session.add(message)
    touch(ticket, now)
    if visibility is Visibility.PUBLIC:
        ticket.search_public = search.appended(Ticket.search_public, search_config, body)
    else:
        ticket.search_internal = search.appended(Ticket.search_internal, search_config, body)
    await session.flush()
    attached = await attachment_records.attach(session, ticket.id, message.id, files)
    data: dict[str, Any] = {
        "message_id": message.id,
        "visibility": visibility.value,
        "author_role": author.role.value,
        "channel": message.channel.value,
    }
    if attached:
        data["attachments"] = attachment_records.described(attached)
    await record_event(
        session,
        ticket,
        EventKind.MESSAGE_CREATED,
        actor=author,
        visibility=visibility,
        data={**data, **(event_data or {})},
    )
    if moves_status:
        await _follow_up_status(session, ticket, author, visibility, now)
    return message, attached


async def _follow_up_status(
    session: AsyncSession, ticket: Ticket, author: User, visibility: Visibility, now: datetime
) -> None:
    """What a message does to the lifecycle.

    The first public reply from staff is the first response (and opens a new ticket);
    a reply from the requester's side brings a pending or resolved ticket back to open.
    """
    if visibility is not Visibility.PUBLIC:
        return
    if author.role.is_staff:
        if ticket.first_response_at is None:
            ticket.first_response_at = now
        if ticket.status is TicketStatus.NEW:
            await move_status(session, ticket, TicketStatus.OPEN, actor=author, now=now)
        return
    reopened = status_after_requester_reply(ticket.status)
    if reopened is not None:
        await move_status(session, ticket, reopened, actor=author, now=now)


def _default_channel(author: User, ticket: Ticket) -> Channel:
    if author.role is Role.INTEGRATION or ticket.channel is Channel.CHAT:
        return ticket.channel  # a chat's messages, both ways, are chat
    return Channel.WEB


async def list_messages(
    session: AsyncSession, viewer: User, ticket_id: int, *, after_id: int | None, limit: int
) -> tuple[Sequence[tuple[Message, User]], dict[int, list[Attachment]]]:
    """A page of the conversation the viewer may read, with each message's files."""
    await get_visible_ticket(session, viewer, ticket_id)
    ticket_ids = await timeline_ticket_ids(session, viewer, ticket_id)
    query = narrow_to_timeline(
        select(Message, User).join(User, User.id == Message.author_id),
        Message,
        ticket_ids,
        message_clause(viewer),
        after_id=after_id,
        limit=limit,
    )
    rows = [(message, user) for message, user in (await session.execute(query)).all()]
    files = await attachment_records.of_messages(session, [m.id for m, _ in rows])
    return rows, files
