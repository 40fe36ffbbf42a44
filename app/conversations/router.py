"""HTTP for conversations: public replies and internal notes on a ticket, their files."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse

from app.attachments import records as attachment_records
from app.attachments.uploads import store_uploads
from app.auth.dependencies import CurrentUser
from app.common.bodies import documented, json_or_multipart, read_body
from app.common.openapi import problems
from app.common.pagination import Cursor, Limit, Page, decode_id_cursor, next_id_cursor
from app.common.types import IdPath
from app.conversations import service
from app.conversations.schemas import MessageCreate, MessageOut
from app.db import DbSession
from app.events.schemas import ActorOut
from app.idempotency.guard import IdempotencyGuard
from app.models import Attachment, Message, User

router = APIRouter(tags=["conversations"])

FILES_DESCRIPTION = (
    "Attachments (HELPDESK_ATTACHMENT_MAX_FILES at most, each under "
    "HELPDESK_ATTACHMENT_MAX_BYTES); they take the message's visibility."
)


def message_out(message: Message, author: User, files: list[Attachment]) -> MessageOut:
    return MessageOut(
        id=message.id,
        ticket_id=message.ticket_id,
        author=ActorOut(id=author.id, name=author.name, role=author.role),
        visibility=message.visibility,
        channel=message.channel,
        body=message.body,
        attachments=[attachment_records.present(f) for f in files],
        created_at=message.created_at,
    )


@router.post(
    "/tickets/{ticket_id}/messages",
    status_code=status.HTTP_201_CREATED,
    response_model=MessageOut,
    responses=problems(403, 404, 409, 413),
    openapi_extra=json_or_multipart(documented(MessageCreate), FILES_DESCRIPTION),
)
async def create_message(
    request: Request,
    session: DbSession,
    author: CurrentUser,
    idempotency: IdempotencyGuard,
    ticket_id: IdPath,
) -> JSONResponse:
    """Reply publicly or add an internal note (staff only). JSON, or multipart/form-data
    with the JSON as `payload` and the attachments as `files`."""
    settings = request.app.state.settings
    data, uploads, form = await read_body(
        request, MessageCreate, max_files=settings.attachment_max_files
    )
    try:
        files = await store_uploads(
            request.app.state.attachment_store, uploads, max_files=settings.attachment_max_files
        )
    finally:
        if form is not None:
            await form.close()
    message, _ticket, attached = await service.post_message(
        session, author, ticket_id, data, search_config=settings.search_config, files=files
    )
    return await idempotency.respond(
        message_out(message, author, attached),
        status_code=status.HTTP_201_CREATED,
        headers={"Location": f"/api/v1/tickets/{ticket_id}/messages/{message.id}"},
    )


@router.get("/tickets/{ticket_id}/messages", responses=problems(400, 404))
async def list_messages(
    session: DbSession,
    viewer: CurrentUser,
    ticket_id: IdPath,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[MessageOut]:
    """The conversation, oldest first; requesters see public replies only. A primary shows
    the messages of the duplicates merged into it too, as far as the caller may see them."""
    rows, files = await service.list_messages(
        session, viewer, ticket_id, after_id=decode_id_cursor(cursor), limit=limit
    )
    return Page(
        items=[message_out(message, author, files.get(message.id, [])) for message, author in rows],
        next_cursor=next_id_cursor([message.id for message, _ in rows], limit),
    )
