"""HTTP for files: attachments (always served as downloads) and the originals of
messages that came in by email.

A file's visibility is its message's: an internal note's files are for staff only,
on every path. The original of an email (the raw message, quoted history and all) is
for staff and for the person who sent it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.attachments import links
from app.attachments import records as attachment_records
from app.attachments.policy import content_disposition, download_headers
from app.attachments.schemas import AttachmentOut
from app.attachments.store import AttachmentNotFound, AttachmentStore
from app.auth.dependencies import CurrentUser
from app.common.openapi import problems
from app.common.pagination import Cursor, Limit, Page, decode_id_cursor, next_id_cursor
from app.common.types import IdPath
from app.db import DbSession
from app.errors import NotFound
from app.events.visibility import get_visible_ticket, sees_internal
from app.models import Attachment, InboundMessage, IntakeOutcome, Message, User, Visibility

router = APIRouter(tags=["attachments"])

_DOWNLOAD: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file, as a download, with its recorded type.",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}
_ORIGINAL: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The raw message as it arrived (RFC 5322), as a download.",
        "content": {"message/rfc822": {"schema": {"type": "string", "format": "binary"}}},
    }
}


async def _visible_attachment(
    session: AsyncSession, viewer: User, attachment_id: int
) -> Attachment:
    row = (
        await session.execute(
            select(Attachment, Message.visibility)
            .outerjoin(Message, Message.id == Attachment.message_id)
            .where(Attachment.id == attachment_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"Attachment {attachment_id} does not exist.")
    attachment, visibility = row
    try:
        await get_visible_ticket(session, viewer, attachment.ticket_id)
    except NotFound:
        raise NotFound(f"Attachment {attachment_id} does not exist.") from None
    if visibility is Visibility.INTERNAL and not sees_internal(viewer):
        raise NotFound(f"Attachment {attachment_id} does not exist.")
    return attachment


async def _stream(
    store: AttachmentStore, sha256: str, headers: dict[str, str]
) -> StreamingResponse:
    """The stored file, or 404 when its bytes are gone; the first chunk is read before the
    response starts, so a missing file is an answer, not a broken download."""
    chunks = store.read(sha256)
    try:
        first = await anext(chunks)
    except StopAsyncIteration:
        first = b""
    except AttachmentNotFound:
        raise NotFound("The file is no longer stored.") from None

    async def body() -> AsyncIterator[bytes]:
        yield first
        async for chunk in chunks:
            yield chunk

    return StreamingResponse(body(), headers=headers)


@router.get(
    "/attachments/{attachment_id}", responses={**_DOWNLOAD, **problems(404)}, response_model=None
)
async def download_attachment(
    request: Request, session: DbSession, viewer: CurrentUser, attachment_id: IdPath
) -> StreamingResponse:
    """The file, always as a download (`Content-Disposition: attachment`, `nosniff`, a
    sandboxing CSP), with the type recorded when it was stored."""
    attachment = await _visible_attachment(session, viewer, attachment_id)
    headers = download_headers(attachment.filename, attachment.content_type)
    headers["Content-Length"] = str(attachment.size)
    return await _stream(request.app.state.attachment_store, attachment.sha256, headers)


@router.get(
    "/attachments/{attachment_id}/download",
    responses={**_DOWNLOAD, **problems(404)},
    response_model=None,
)
async def download_attachment_by_link(
    request: Request,
    session: DbSession,
    attachment_id: IdPath,
    expires: Annotated[int, Query(ge=0, le=2**62)],
    signature: Annotated[str, Query(pattern="^[0-9a-f]{64}$")],
) -> StreamingResponse:
    """A public file through the signed link a notification email carried (no token)."""
    secret = request.app.state.settings.secret_key.get_secret_value()
    if not links.valid(secret, attachment_id, expires, signature):
        raise NotFound(f"Attachment {attachment_id} does not exist (or the link expired).")
    row = (
        await session.execute(
            select(Attachment)
            .outerjoin(Message, Message.id == Attachment.message_id)
            .where(
                Attachment.id == attachment_id,
                or_(Attachment.message_id.is_(None), Message.visibility == Visibility.PUBLIC),
            )
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"Attachment {attachment_id} does not exist.")
    headers = download_headers(row.filename, row.content_type)
    headers["Content-Length"] = str(row.size)
    return await _stream(request.app.state.attachment_store, row.sha256, headers)


@router.get("/tickets/{ticket_id}/attachments", responses=problems(400, 404))
async def list_ticket_attachments(
    session: DbSession,
    viewer: CurrentUser,
    ticket_id: IdPath,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[AttachmentOut]:
    """Every file of the ticket the caller may see: those filed with it and those of its
    messages (internal notes' files for staff only), oldest first."""
    await get_visible_ticket(session, viewer, ticket_id)
    query = (
        select(Attachment)
        .outerjoin(Message, Message.id == Attachment.message_id)
        .where(Attachment.ticket_id == ticket_id)
        .order_by(Attachment.id)
        .limit(limit)
    )
    if not sees_internal(viewer):
        query = query.where(
            or_(Attachment.message_id.is_(None), Message.visibility == Visibility.PUBLIC)
        )
    after = decode_id_cursor(cursor)
    if after is not None:
        query = query.where(Attachment.id > after)
    rows = list(await session.scalars(query))
    return Page(
        items=[attachment_records.present(a) for a in rows],
        next_cursor=next_id_cursor([a.id for a in rows], limit),
    )


async def _original(
    request: Request, inbound: InboundMessage | None, what: str
) -> StreamingResponse:
    if inbound is None:
        raise NotFound(f"{what} did not come in by email, or its original is not kept.")
    headers = {
        "Content-Disposition": content_disposition(f"message-{inbound.id}.eml"),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Content-Type": "message/rfc822",
        "Content-Length": str(inbound.raw_size),
    }
    return await _stream(request.app.state.attachment_store, inbound.raw_sha256, headers)


@router.get(
    "/tickets/{ticket_id}/messages/{message_id}/original",
    responses={**_ORIGINAL, **problems(404)},
    response_model=None,
)
async def get_message_original(
    request: Request, session: DbSession, viewer: CurrentUser, ticket_id: IdPath, message_id: IdPath
) -> StreamingResponse:
    """The email a message came from, whole: quoted history, signature, every part.
    For staff, and for its sender."""
    await get_visible_ticket(session, viewer, ticket_id)
    message = await session.scalar(
        select(Message).where(Message.id == message_id, Message.ticket_id == ticket_id)
    )
    what = f"Message {message_id}"
    if message is None or not (sees_internal(viewer) or message.author_id == viewer.id):
        raise NotFound(f"{what} does not exist.")
    inbound = await session.scalar(
        select(InboundMessage).where(InboundMessage.message_row_id == message_id).limit(1)
    )
    return await _original(request, inbound, what)


@router.get(
    "/tickets/{ticket_id}/original",
    responses={**_ORIGINAL, **problems(404)},
    response_model=None,
)
async def get_ticket_original(
    request: Request, session: DbSession, viewer: CurrentUser, ticket_id: IdPath
) -> StreamingResponse:
    """The email that opened the ticket, whole. For staff and its requester."""
    ticket = await get_visible_ticket(session, viewer, ticket_id)
    if not (sees_internal(viewer) or ticket.requester_id == viewer.id):
        raise NotFound(f"Ticket {ticket_id} does not exist.")
    inbound = await session.scalar(
        select(InboundMessage)
        .where(
            InboundMessage.ticket_id == ticket_id,
            InboundMessage.message_row_id.is_(None),
            InboundMessage.outcome.in_([IntakeOutcome.CREATED, IntakeOutcome.FOLLOWUP]),
        )
        .order_by(InboundMessage.id)
        .limit(1)
    )
    return await _original(request, inbound, f"Ticket {ticket_id}")
