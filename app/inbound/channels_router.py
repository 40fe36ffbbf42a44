"""HTTP for the channels other than email: connectors' messages, SMS from Twilio."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse

from app.common.openapi import problems
from app.db import DbSession
from app.errors import UnprocessableEntity
from app.identities.normalise import InvalidIdentity
from app.inbound.pipeline import Arrival, Intake
from app.inbound.posts import checked, raw_of
from app.inbound.router import IntakeCaller, answer
from app.inbound.schemas import InboundPostIn, IntakeOut

router = APIRouter(tags=["inbound"])


@router.post(
    "/inbound/messages",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=IntakeOut,
    responses=problems(403, 413),
)
async def take_in_message(
    request: Request, session: DbSession, caller: IntakeCaller, post: InboundPostIn
) -> JSONResponse:
    """A message from a connector (social network, messenger, web widget). Every message
    of one thread (this integration, `source`, `thread_ref`) goes on one ticket; the
    sender is found or made a customer by their handle on `source`. The same
    `external_id` again answers the first outcome, records nothing, and says so with
    `Idempotent-Replayed: true`. Public replies on the ticket are POSTed to the
    integration's webhook (`integration_id` on /webhooks) as `channel.reply`."""
    try:
        checked(post)
    except (InvalidIdentity, ValueError) as error:
        raise UnprocessableEntity(str(error)) from None
    intake: Intake = request.app.state.intakes["message"]
    result = await intake.take_in(session, Arrival(raw_of(caller.id, post), via="http"))
    return answer(result)
