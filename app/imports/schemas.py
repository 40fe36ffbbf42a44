"""What an import takes: a ticket and the steps of its history, in order."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
)

from app.common.types import Id, Name, QueryDatetime, ShortText, reject_nul
from app.models import Channel, Level, TicketStatus, Visibility

Body = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100_000),
    AfterValidator(reject_nul),
]
ExternalId = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=150),
    AfterValidator(reject_nul),
]


def _text_only(value: object) -> object:
    if not isinstance(value, str):
        raise ValueError("must be an RFC 3339 date-time string such as 2026-03-01T09:00:00Z")
    return value


# An RFC 3339 string: a bare number would otherwise be read as a Unix timestamp.
Rfc3339 = Annotated[QueryDatetime, BeforeValidator(_text_only)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Person(_Input):
    email: EmailStr
    name: Name | None = None


class Step(_Input):
    """One change, at its original time. `by`: who made it, by email (staff must exist;
    an unknown requester-side author is the requester).

    - `message`: `body`, `visibility`;
    - `status`: `status` (a move to resolved with `by` is surveyed, as here);
    - `assign`: `owner` (none: unassign), `reason`;
    - `rating`: `rating` 1-5 and an optional comment in `body`: the answer to the survey
      of the latest resolution (which must come before it, with `by`), once;
    - `complaint`, `suggestion`: `body`, what was said: a feedback record on the ticket.
    """

    at: Rfc3339
    type: Literal["message", "status", "assign", "rating", "complaint", "suggestion"]
    by: EmailStr | None = None
    body: Body | None = None
    visibility: Visibility = Visibility.PUBLIC
    status: TicketStatus | None = None
    owner: EmailStr | None = Field(
        default=None, description="assign: the new owner; none: unassign"
    )
    reason: ShortText = "manual"
    rating: Annotated[int, Field(ge=1, le=5, strict=True)] | None = None


class ImportTicket(_Input):
    external_id: ExternalId
    subject: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
    description: Body
    created_at: Rfc3339
    requester: Person
    channel: Channel = Channel.EMAIL
    urgency: Level = Level.MEDIUM
    impact: Level = Level.MEDIUM
    category: ShortText | None = None
    tags: list[Annotated[str, StringConstraints(min_length=1, max_length=50)]] = Field(
        default_factory=list, max_length=20
    )
    team_id: Id | None = None
    steps: list[Step] = Field(default_factory=list, max_length=1000)


class ImportBatch(_Input):
    tickets: list[ImportTicket] = Field(min_length=1, max_length=1000)


class Imported(BaseModel):
    external_id: str
    ticket_id: int
    created: bool  # false: imported before, left as it was


class ImportResult(BaseModel):
    created: int
    unchanged: int
    tickets: list[Imported]
