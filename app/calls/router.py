"""HTTP for calls: logging them on tickets, and the CTI webhook."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status

from app.auth.dependencies import CurrentUser, require_roles
from app.calls import service
from app.calls.schemas import CallLogCreate, CallLogOut, IncomingCall, ScreenPop
from app.common.openapi import problems
from app.common.types import IdPath
from app.db import DbSession
from app.models import Role, User

router = APIRouter(tags=["calls"])

CtiCaller = Annotated[User, Depends(require_roles(Role.ADMIN, Role.INTEGRATION))]


@router.post(
    "/tickets/{ticket_id}/calls",
    status_code=status.HTTP_201_CREATED,
    response_model=CallLogOut,
    response_model_by_alias=True,
    responses=problems(403, 404),
)
async def log_call(
    session: DbSession, actor: CurrentUser, ticket_id: IdPath, data: CallLogCreate
) -> CallLogOut:
    """Log a phone call on the ticket (staff): a `call.logged` timeline entry. An
    answered call counts as contact (the first one is the first response). The customer
    sees the call; the recording URL and the note stay with staff."""
    return await service.log_call(session, actor, ticket_id, data)


@router.post(
    "/inbound/calls",
    response_model=ScreenPop,
    responses=problems(403),
)
async def incoming_call(
    request: Request, session: DbSession, caller: CtiCaller, call: IncomingCall
) -> ScreenPop:
    """A telephony system (CTI) reports a call being answered: the caller is found by
    their number, and the answering agent's open WebSocket connections get a
    `{"type": "screen_pop", ...}` frame (this response's fields) with the caller's open
    tickets, at commit, in whichever process serves them. `create_ticket` opens a phone
    ticket for the call (once per call_id)."""
    return await service.screen_pop(
        session, caller, call, search_config=request.app.state.settings.search_config
    )
