"""HTTP for intake: raw email from MTAs and mail services, and the quarantine."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Request, Response, status
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.background import BackgroundTask

from app.attachments.policy import content_disposition
from app.attachments.store import AttachmentNotFound, AttachmentStore
from app.auth.dependencies import AdminUser, require_roles
from app.common.openapi import problems
from app.common.pagination import Cursor, Limit, Page, decode_id_cursor, next_id_cursor
from app.common.types import IdPath
from app.db import DbSession
from app.errors import NotFound, ProblemError
from app.inbound import quarantine
from app.inbound.pipeline import Arrival, Intake, IntakeResult
from app.inbound.schemas import IntakeOut, QuarantinedOut
from app.models import Role, User
from app.observability.inbound import count_intake

router = APIRouter(tags=["inbound"])

MAIL_TYPE = "message/rfc822"
IntakeCaller = Annotated[User, Depends(require_roles(Role.ADMIN, Role.INTEGRATION))]


class UnsupportedMediaType(ProblemError):
    status, type_slug, title = 415, "unsupported-media-type", "Unsupported media type"


def intake_out(result: IntakeResult) -> IntakeOut:
    return IntakeOut(
        outcome=result.outcome,
        ticket_id=result.ticket_id,
        message_id=result.message_id,
        reason=result.reason,
        inbound_id=result.inbound_id,
    )


_RAW_MAIL_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            MAIL_TYPE: {
                "schema": {"type": "string", "format": "binary"},
                "example": "From: Ada <ada@example.com>\r\nTo: support@desk.example\r\n"
                "Subject: Printer on fire\r\nMessage-ID: <1@example.com>\r\n\r\nHelp!\r\n",
            }
        },
    }
}


@router.post(
    "/inbound/email",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=IntakeOut,
    responses=problems(403, 413, 415)
    | {
        503: {
            "description": "The database is unreachable; send again later (nothing was recorded)."
        }
    },
    openapi_extra=_RAW_MAIL_BODY,
)
async def take_in_email(
    request: Request, session: DbSession, _caller: IntakeCaller
) -> JSONResponse:
    """A raw RFC 5322 message, as an MTA or a mail service forwards it. Answered (202)
    once it is recorded, ignored or quarantined, and committed. The same message again
    (same Message-ID, or same content when it has none) answers the first outcome,
    changes nothing, and says so with `Idempotent-Replayed: true`."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != MAIL_TYPE:
        raise UnsupportedMediaType(
            f"Send the raw message as {MAIL_TYPE}, not {content_type or 'no type'}."
        )
    intake: Intake = request.app.state.email_intake
    limit: int = request.app.state.settings.inbound_max_message_bytes
    chunks: list[bytes] = []
    size = 0
    stream = request.stream()
    async for chunk in stream:
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            result = await intake.keep_oversized(
                session, _rest(chunks, stream), Arrival(b"", via="http"), limit
            )
            return answer(result)
    raw = b"".join(chunks)
    chunks.clear()
    result = await intake.take_in(session, Arrival(raw, via="http"))
    return answer(result)


async def _rest(read: list[bytes], stream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    for chunk in read:
        yield chunk
    read.clear()
    async for chunk in stream:
        yield chunk


def answer(result: IntakeResult) -> JSONResponse:
    headers = {"Idempotent-Replayed": "true"} if result.repeated else {}
    # Counted once the response is on its way: the request's commit came before it.
    counted = BackgroundTask(count_intake, result.outcome.value, repeated=result.repeated)
    return JSONResponse(
        intake_out(result).model_dump(mode="json"),
        status_code=202,
        headers=headers,
        background=counted,
    )


@router.get("/inbound/quarantine", responses=problems(400, 403))
async def list_quarantine(
    session: DbSession, _admin: AdminUser, limit: Limit = 50, cursor: Cursor = None
) -> Page[QuarantinedOut]:
    """Messages that could not be recorded, oldest first, each with its reason."""
    rows = await quarantine.list_quarantined(
        session, after_id=decode_id_cursor(cursor), limit=limit
    )
    return Page(
        items=[quarantine.present(r) for r in rows],
        next_cursor=next_id_cursor([r.id for r in rows], limit),
    )


@router.get(
    "/inbound/quarantine/{inbound_id}/raw",
    responses={
        200: {
            "description": "The raw message as it arrived, as a download.",
            "content": {MAIL_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        },
        **problems(403, 404),
    },
    response_model=None,
)
async def get_quarantined_raw(
    request: Request, session: DbSession, _admin: AdminUser, inbound_id: IdPath
) -> StreamingResponse:
    row = await quarantine.get_quarantined(session, inbound_id)
    store: AttachmentStore = request.app.state.attachment_store
    chunks = store.read(row.raw_sha256)
    try:
        first = await anext(chunks)
    except StopAsyncIteration:
        first = b""
    except AttachmentNotFound:
        raise NotFound("Its raw bytes are no longer stored.") from None

    async def body() -> AsyncIterator[bytes]:
        yield first
        async for chunk in chunks:
            yield chunk

    return StreamingResponse(
        body(),
        media_type=MAIL_TYPE,
        headers={
            "Content-Disposition": content_disposition(f"quarantined-{row.id}.eml"),
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


@router.post("/inbound/quarantine/{inbound_id}/retry", responses=problems(403, 404))
async def retry_quarantined(
    request: Request, session: DbSession, _admin: AdminUser, inbound_id: IdPath
) -> IntakeOut:
    """Record it again (no sender rate limit this time): the answer is the new outcome,
    which may be quarantined again, with the reason."""
    result = await quarantine.retry(session, request.app.state.intakes, inbound_id)
    return intake_out(result)


@router.delete(
    "/inbound/quarantine/{inbound_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(403, 404),
)
async def delete_quarantined(
    request: Request,
    session: DbSession,
    _admin: AdminUser,
    inbound_id: IdPath,
    background: BackgroundTasks,
) -> Response:
    """Delete it for good, raw bytes included (once the deletion is committed)."""
    unused = await quarantine.discard(session, inbound_id)
    if unused is not None:
        background.add_task(request.app.state.attachment_store.delete, unused)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
