"""Calls as the API accepts and shows them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, HttpUrl, StringConstraints

from app.common.types import BodyDatetime, Id, reject_nul
from app.models import TicketStatus

Number = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
    AfterValidator(reject_nul),
    Field(description="A phone number, E.164 preferred (an extension or 'anonymous' is kept)."),
]
Note = Annotated[str, StringConstraints(max_length=10_000), AfterValidator(reject_nul)]
CallRef = Annotated[
    str, StringConstraints(min_length=1, max_length=150), AfterValidator(reject_nul)
]
Subject = Annotated[
    str, StringConstraints(min_length=1, max_length=300), AfterValidator(reject_nul)
]


class CallDirection(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class CallOutcome(StrEnum):
    ANSWERED = "answered"  # a conversation took place: it counts as contact
    MISSED = "missed"
    VOICEMAIL = "voicemail"
    BUSY = "busy"
    FAILED = "failed"


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CallLogCreate(_Input):
    direction: CallDirection
    from_number: Number = Field(alias="from")
    to_number: Number = Field(alias="to")
    duration_seconds: int = Field(ge=0, le=86_400, strict=True)
    outcome: CallOutcome
    recording_url: HttpUrl | None = Field(
        default=None, max_length=2000, description="Staff only: never shown to the customer."
    )
    note: Note | None = Field(default=None, description="Staff only, like recording_url.")
    started_at: BodyDatetime | None = Field(default=None, description="Default: now.")


class CallLogOut(BaseModel):
    event_id: int
    ticket_id: int
    direction: CallDirection
    from_number: str = Field(serialization_alias="from")
    to_number: str = Field(serialization_alias="to")
    duration_seconds: int
    outcome: CallOutcome
    recording_url: str | None
    note: str | None
    started_at: datetime
    counts_as_contact: bool


class IncomingCall(_Input):
    """What a telephony system (CTI) says about a call being answered."""

    call_id: CallRef = Field(description="The telephony system's id of the call.")
    from_number: Number = Field(alias="from", description="The caller's number.")
    to_number: Number | None = Field(default=None, alias="to")
    agent_id: Id | None = Field(default=None, description="Who answers (or agent_email).")
    agent_email: Annotated[str, StringConstraints(max_length=320)] | None = None
    create_ticket: bool = Field(
        default=False,
        strict=True,
        description="Open a phone ticket for the caller (once per call_id), made a customer "
        "by their number when the desk does not know them.",
    )
    subject: Subject | None = None


class PoppedTicket(BaseModel):
    id: int
    subject: str
    status: TicketStatus
    priority: str
    updated_at: datetime


class Caller(BaseModel):
    id: int
    name: str
    phone: str | None


class ScreenPop(BaseModel):
    call_id: str
    caller: Caller | None = Field(description="Who the number belongs to; null: a stranger.")
    tickets: list[PoppedTicket] = Field(description="The caller's open tickets, newest first.")
    ticket_id: int | None = Field(description="The ticket made for this call, if asked for.")
    agent_id: int | None = Field(description="Whose screen it popped on (at commit).")
