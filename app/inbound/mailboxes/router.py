"""HTTP for IMAP mailboxes (admins). Secrets are accepted, stored sealed, never shown."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from app.auth.dependencies import AdminUser
from app.common.openapi import problems
from app.common.pagination import Cursor, Limit, Page, decode_id_cursor, next_id_cursor
from app.common.types import IdPath
from app.db import DbSession
from app.inbound.mailboxes import service
from app.inbound.mailboxes.schemas import MailboxCreate, MailboxOut, MailboxUpdate

router = APIRouter(tags=["inbound"])


def _secret_key(request: Request) -> str:
    key: str = request.app.state.settings.secret_key.get_secret_value()
    return key


@router.post("/mailboxes", status_code=status.HTTP_201_CREATED, responses=problems(403, 409))
async def create_mailbox(
    request: Request, session: DbSession, _admin: AdminUser, data: MailboxCreate, response: Response
) -> MailboxOut:
    """An IMAP mailbox to poll: its unseen mail becomes tickets and replies. One process
    polls it at a time, with IDLE where the server offers it."""
    mailbox = await service.create(session, _secret_key(request), data)
    response.headers["Location"] = f"/api/v1/mailboxes/{mailbox.id}"
    return service.present(mailbox)


@router.get("/mailboxes", responses=problems(400, 403))
async def list_mailboxes(
    session: DbSession, _admin: AdminUser, limit: Limit = 50, cursor: Cursor = None
) -> Page[MailboxOut]:
    rows = await service.list_all(session, after_id=decode_id_cursor(cursor), limit=limit)
    return Page(
        items=[service.present(m) for m in rows],
        next_cursor=next_id_cursor([m.id for m in rows], limit),
    )


@router.get("/mailboxes/{mailbox_id}", responses=problems(403, 404))
async def get_mailbox(session: DbSession, _admin: AdminUser, mailbox_id: IdPath) -> MailboxOut:
    """The mailbox, with when it was last polled and its last error."""
    return service.present(await service.get(session, mailbox_id))


@router.patch("/mailboxes/{mailbox_id}", responses=problems(403, 404, 409))
async def update_mailbox(
    request: Request, session: DbSession, _admin: AdminUser, mailbox_id: IdPath, data: MailboxUpdate
) -> MailboxOut:
    """Change it (a new password or token too); its poller restarts with the change."""
    return service.present(await service.update(session, _secret_key(request), mailbox_id, data))


@router.delete(
    "/mailboxes/{mailbox_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problems(403, 404)
)
async def delete_mailbox(session: DbSession, _admin: AdminUser, mailbox_id: IdPath) -> Response:
    await service.delete(session, mailbox_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
