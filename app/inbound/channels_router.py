"""HTTP for the channels other than email: connectors' messages, SMS from Twilio."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import JSONResponse
from starlette.background import BackgroundTask

from app.common.openapi import problems
from app.db import DbSession
from app.errors import Forbidden, UnprocessableEntity
from app.identities.normalise import InvalidIdentity
from app.inbound.pipeline import Arrival, Intake
from app.inbound.posts import checked, raw_of
from app.inbound.router import IntakeCaller, UnsupportedMediaType, answer
from app.inbound.schemas import InboundPostIn, IntakeOut
from app.inbound.sms_status import record_status
from app.inbound.twilio import SIGNATURE_HEADER, called_url, form_params, verified
from app.observability.inbound import count_intake

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


# SMS from a Twilio-compatible provider --------------------------------------------------

FORM_TYPE = "application/x-www-form-urlencoded"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _form_body(properties: dict[str, str]) -> dict[str, Any]:
    """The provider's form. Nothing is required: a signed request is the provider's, and
    what it cannot be recorded from is quarantined with its reason, never refused."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                FORM_TYPE: {
                    "schema": {
                        "type": "object",
                        "properties": {
                            name: {"type": "string", "description": text}
                            for name, text in properties.items()
                        },
                        "additionalProperties": {"type": "string"},
                    }
                }
            },
        }
    }


_SMS_FORM = _form_body(
    {
        "MessageSid": "The provider's id of the text: the same one again changes nothing.",
        "From": "The sender's number (E.164).",
        "To": "The desk's number it was sent to.",
        "Body": "The text.",
        "NumMedia": "How many files came with it (MediaUrl0, MediaContentType0, ...).",
    },
)
_STATUS_FORM = _form_body(
    {
        "MessageSid": "The provider's id of the text the desk sent.",
        "MessageStatus": "queued, sending, sent, delivered, undelivered or failed.",
        "ErrorCode": "Why it was not delivered.",
    },
)


async def _signed_form(request: Request) -> list[tuple[str, str]]:
    """The form's parameters, once the provider's signature over them verifies; else
    403, before anything is read into the desk."""
    settings = request.app.state.settings
    token = settings.sms_auth_token.get_secret_value() if settings.sms_auth_token else ""
    body = await request.body()
    params = form_params(body)
    base = settings.sms_webhook_base_url or settings.public_base_url
    url = called_url(base, request.url.path, request.url.query)
    if not verified(token, url, params, request.headers.get(SIGNATURE_HEADER)):
        raise Forbidden("The X-Twilio-Signature does not verify for this request.")
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != FORM_TYPE:
        raise UnsupportedMediaType(f"Send the parameters as {FORM_TYPE}.")
    return params


@router.post(
    "/inbound/sms/twilio",
    response_class=Response,
    responses={
        200: {
            "description": "Recorded (or recognised, or quarantined) and committed. An empty "
            "TwiML answer (no automatic reply); X-Intake-Outcome, X-Ticket-Id and "
            "X-Inbound-Id say what became of the text.",
            "content": {"application/xml": {"schema": {"type": "string"}}},
        },
        **problems(403, 413, 415),
    },
    openapi_extra=_SMS_FORM,
)
async def take_in_sms(request: Request, session: DbSession) -> Response:
    """A text message, as Twilio (or a compatible provider) posts it to the messaging
    webhook: `X-Twilio-Signature` must verify with the configured auth token over the URL
    configured at the provider (`sms_webhook_base_url`, else `public_base_url`, plus this
    path). A text from a known number goes on that customer's open SMS ticket within
    `sms_thread_window_minutes`, else opens one; STOP / START (and Twilio's synonyms)
    change the customer's SMS consent, which the outbox honours."""
    params = await _signed_form(request)
    intake: Intake = request.app.state.intakes["sms"]
    raw = urlencode(params).encode()
    result = await intake.take_in(session, Arrival(raw, via="http"))
    headers = {
        "X-Intake-Outcome": result.outcome.value,
        "X-Inbound-Id": str(result.inbound_id),
    }
    if result.ticket_id is not None:
        headers["X-Ticket-Id"] = str(result.ticket_id)
    if result.repeated:
        headers["Idempotent-Replayed"] = "true"
    counted = BackgroundTask(count_intake, result.outcome.value, repeated=result.repeated)
    return Response(EMPTY_TWIML, media_type="application/xml", headers=headers, background=counted)


@router.post(
    "/inbound/sms/twilio/status",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problems(403, 404, 415),
    openapi_extra=_STATUS_FORM,
)
async def sms_status(
    request: Request,
    session: DbSession,
    delivery: Annotated[str, Query(min_length=1, max_length=200)],
) -> Response:
    """The provider's delivery-status callback for a text the desk sent (the outbox
    gives each text this URL with its delivery's key): the delivery's
    `provider_status` follows it, and an undelivered or failed text makes it dead."""
    params = await _signed_form(request)
    await record_status(session, delivery, dict(params))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
