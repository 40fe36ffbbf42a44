"""Intake as the API shows it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from app.common.types import BodyDatetime, reject_nul
from app.models import IntakeOutcome


class IntakeOut(BaseModel):
    outcome: IntakeOutcome = Field(
        description="created: a new ticket; appended: a message on a ticket; followup: a new "
        "ticket following up a closed one; ignored: accounted for, nothing recorded (a "
        "bounce, an automatic reply to no ticket, the desk's own mail); quarantined: kept "
        "with its reason for an admin (GET /inbound/quarantine)."
    )
    ticket_id: int | None
    message_id: int | None = Field(description="The message recorded on the ticket, if any.")
    reason: str | None = Field(description="Why it was ignored or quarantined, in words.")
    inbound_id: int = Field(description="The intake record (the quarantine id when quarantined).")


class QuarantinedOut(BaseModel):
    id: int
    channel: str
    via: str = Field(description="http, smtp or imap")
    mailbox_id: int | None
    sender: str | None
    subject: str | None
    reason: str | None
    reason_code: str | None = Field(
        description="e.g. unparseable, too_large, rate_limited, no_sender, record_failed"
    )
    size: int
    attempts: int
    received_at: datetime


def _bounded(max_length: int, min_length: int = 1) -> tuple[StringConstraints, AfterValidator]:
    return StringConstraints(min_length=min_length, max_length=max_length), AfterValidator(
        reject_nul
    )


Source = Annotated[str, *_bounded(32)]
Ref = Annotated[str, *_bounded(300)]
Handle = Annotated[str, *_bounded(320)]
SenderName = Annotated[str, *_bounded(200)]
FileName = Annotated[str, *_bounded(255)]
ClaimedPhone = Annotated[str, *_bounded(64)]
PostBody = Annotated[str, *_bounded(100_000, 0)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MessageSenderIn(_Input):
    handle: Handle = Field(
        description="Who wrote it on the source (a user name, a phone number, an id): the "
        "identity the connector vouches for, by which the customer is found or made."
    )
    name: SenderName | None = None
    email: Handle | None = Field(
        default=None,
        description="What the sender claims; kept with the message, never used to match a "
        "customer (anyone can type anyone's address).",
    )
    phone: ClaimedPhone | None = Field(default=None, description="Claimed, like email.")


class MessageFileIn(_Input):
    filename: FileName | None = None
    content_type: FileName = "application/octet-stream"
    content_base64: str = Field(max_length=14_000_000, description="The file, base64.")


class InboundPostIn(_Input):
    """A message a connector (WhatsApp, Facebook, Telegram, a web form...) brings in."""

    source: Source = Field(description="The network, e.g. twitter, whatsapp, telegram.")
    thread_ref: Ref = Field(
        description="The conversation on the source: every message with the same "
        "(integration, source, thread_ref) goes on one ticket."
    )
    external_id: Ref = Field(
        description="The message's id on the source: the same id again answers the first "
        "outcome and records nothing."
    )
    sender: MessageSenderIn
    body: PostBody
    sent_at: BodyDatetime
    attachments: list[MessageFileIn] = Field(default_factory=list, max_length=10)
