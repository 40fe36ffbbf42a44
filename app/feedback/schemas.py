"""Feedback and satisfaction surveys as the API shows and accepts them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    model_validator,
)

from app.common.types import Id, Name, Phone, reject_nul
from app.events.schemas import ActorOut
from app.models import Channel, FeedbackKind, FeedbackStatus, SurveyAnswerVia
from app.tickets.schemas import Category, Note, PersonRef, RequesterRef, Tags

MIN_RATING, MAX_RATING = 1, 5

Rating = Annotated[int, Field(ge=MIN_RATING, le=MAX_RATING, description="1 (poor) to 5 (great)")]
Comment = Note
FeedbackBody = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000),
    AfterValidator(reject_nul),
]
PublicResponse = Note


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


# Surveys -----------------------------------------------------------------


class SurveyAnswer(_Input):
    rating: Rating
    comment: Comment | None = None


class SurveyQuestion(BaseModel):
    """What the link shows: the request's subject and the question, nothing else."""

    subject: str
    question: str
    min_rating: int = MIN_RATING
    max_rating: int = MAX_RATING


class SurveyThanks(BaseModel):
    rating: int
    comment: str | None
    answered_at: datetime


class SurveyState(StrEnum):
    PENDING = "pending"
    ANSWERED = "answered"
    EXPIRED = "expired"


class SurveyOut(BaseModel):
    """The survey for a ticket's latest resolution."""

    id: int
    ticket_id: int
    resolution: int = Field(description="1 for the first resolution, 2 after a reopening, ...")
    state: SurveyState
    question: str
    rating: int | None
    comment: str | None
    owner: PersonRef | None = Field(description="Who owned the ticket when it was resolved.")
    team: PersonRef | None
    sent_at: datetime
    expires_at: datetime
    answered_at: datetime | None
    answered_via: SurveyAnswerVia | None


# Feedback ----------------------------------------------------------------


class CustomerIn(_Input):
    email: EmailStr
    name: Name | None = None
    phone: Phone | None = None


class _OnBehalf(_Input):
    customer_id: Id | None = Field(
        default=None, description="Staff and integrations: the customer behind it."
    )
    customer: CustomerIn | None = Field(
        default=None, description="Or by email: an unknown address becomes a new customer."
    )

    @model_validator(mode="after")
    def _one_customer(self) -> _OnBehalf:
        if self.customer_id is not None and self.customer is not None:
            raise ValueError("give customer_id or customer, not both")
        return self


class FeedbackCreate(_OnBehalf):
    """What staff and integrations may send; customers send a subset (no customer)."""

    kind: FeedbackKind
    body: FeedbackBody
    ticket_id: Id | None = Field(
        default=None, description="The ticket it is about (a complaint without one gets one)."
    )
    category: Category | None = None
    tags: Tags = Field(default_factory=list, description="Product or area tags.")
    channel: Channel | None = Field(
        default=None, description="Where it came from: phone or chat for an agent's capture."
    )


CUSTOMER_FEEDBACK_FIELDS = frozenset({"kind", "body", "ticket_id", "category", "tags", "channel"})


class MessageFeedbackCreate(_Input):
    """Flag a message as feedback. The body defaults to the message's own text."""

    kind: FeedbackKind
    body: FeedbackBody | None = Field(
        default=None, description="Required for an internal note: the customer will read it."
    )
    category: Category | None = None
    tags: Tags = Field(default_factory=list)


class FeedbackUpdate(_Input):
    kind: FeedbackKind | None = None
    category: Category | None = Field(default=None, description="null clears it")
    tags: Tags | None = None
    primary_id: Id | None = Field(
        default=None,
        description="Mark as a duplicate of this record (null: no longer a duplicate).",
    )


NOT_NULLABLE_FEEDBACK_FIELDS = frozenset({"kind", "tags"})


class FeedbackStatusChange(_Input):
    status: FeedbackStatus
    public_response: PublicResponse | None = Field(
        default=None, description="What the author and every customer behind it are told."
    )


class VoteCreate(_OnBehalf):
    """A customer votes for themselves (empty body); staff and integrations name one."""


class FeedbackOut(BaseModel):
    """Feedback as staff see it."""

    id: int
    kind: FeedbackKind
    status: FeedbackStatus
    body: str
    public_response: str | None
    author: ActorOut
    customer: RequesterRef | None
    ticket_id: int | None
    origin_ticket_id: int | None = Field(description="The closed ticket a complaint was about.")
    message_id: int | None
    category: str | None
    tags: list[str]
    channel: Channel
    primary_id: int | None = Field(description="Set on a duplicate: the record it belongs to.")
    duplicates: int = Field(description="How many records were merged into this one.")
    votes: int = Field(description="Votes for this record and its duplicates.")
    supporters: int = Field(
        description="Distinct customers behind it: authors of it and its duplicates, voters."
    )
    created_at: datetime
    updated_at: datetime


class CustomerFeedbackOut(BaseModel):
    """Feedback as its author sees it: what they said and the public response."""

    id: int
    kind: FeedbackKind
    status: FeedbackStatus
    body: str
    public_response: str | None
    ticket_id: int | None
    channel: Channel
    created_at: datetime
    updated_at: datetime


class VoteOut(BaseModel):
    id: int
    feedback_id: int
    customer_id: int
    created_at: datetime


class FeedbackFilters(BaseModel):
    kind: list[FeedbackKind] = Field(default_factory=list)
    status: list[FeedbackStatus] = Field(default_factory=list)
    category: str | None = None
    tag: str | None = None
    channel: Channel | None = None
    customer_id: int | None = None
    ticket_id: int | None = None
    primary_id: int | None = None
    duplicate: bool | None = None
    created_since: datetime | None = None
    created_before: datetime | None = None
    q: str | None = None
    mine: bool = False
