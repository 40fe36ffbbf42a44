"""Tickets as the API shows and accepts them."""

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
from app.events.schemas import LastAction, OwnerChange
from app.models import Channel, Level, Priority, TicketStatus

Subject = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=300),
    AfterValidator(reject_nul),
]
Description = Annotated[
    str, StringConstraints(min_length=1, max_length=100_000), AfterValidator(reject_nul)
]
Category = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(reject_nul),
]
Tag = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=50),
    AfterValidator(reject_nul),
]


def _unique_tags(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(tags))


Tags = Annotated[list[Tag], Field(max_length=20), AfterValidator(_unique_tags)]
Note = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=5000),
    AfterValidator(reject_nul),
]
ExternalRef = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(reject_nul),
]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RequesterIn(_Input):
    email: EmailStr
    name: Name | None = None
    phone: Phone | None = None


class TicketCreate(_Input):
    """What staff and integrations may send. Customers send a subset (CustomerTicketCreate)."""

    subject: Subject
    description: Description
    channel: Channel | None = None
    urgency: Level = Level.MEDIUM
    impact: Level = Level.MEDIUM
    category: Category | None = None
    tags: Tags = Field(default_factory=list)
    team_id: Id | None = None
    requester_id: Id | None = Field(default=None, description="An existing user files the ticket")
    requester: RequesterIn | None = Field(
        default=None, description="Or by email: an unknown address becomes a new customer."
    )
    external_ref: ExternalRef | None = Field(
        default=None, description="Your system's id for it; unique per integration."
    )

    @model_validator(mode="after")
    def _one_requester(self) -> TicketCreate:
        if self.requester_id is not None and self.requester is not None:
            raise ValueError("give requester_id or requester, not both")
        return self


# A customer always files for themselves: these are the only fields they may send.
CUSTOMER_CREATE_FIELDS = frozenset(
    {"subject", "description", "channel", "urgency", "impact", "category"}
)


class TicketUpdate(_Input):
    subject: Subject | None = None
    urgency: Level | None = None
    impact: Level | None = None
    category: Category | None = Field(default=None, description="null clears it")
    tags: Tags | None = None
    team_id: Id | None = Field(default=None, description="null clears it")


NOT_NULLABLE_TICKET_FIELDS = frozenset({"subject", "urgency", "impact", "tags"})


class AssignReason(StrEnum):
    ROUTING = "routing"
    ESCALATION = "escalation"
    UNAVAILABILITY = "unavailability"
    REBALANCING = "rebalancing"
    MANUAL = "manual"


class AssignRequest(_Input):
    owner_id: Id | None = Field(description="The new owner, or null to return it to the queue.")
    reason: AssignReason
    note: Note | None = Field(
        default=None, description="For the new owner; customers never see it."
    )


class StatusChange(_Input):
    status: TicketStatus
    note: Note | None = Field(
        default=None,
        description="Shown to the requester, e.g. the question a pending ticket waits on.",
    )


class PersonRef(BaseModel):
    id: int
    name: str


class RequesterRef(PersonRef):
    email: str


# Staff-only fields are null to customers and integrations unless an admin shows them
# (HELPDESK_CUSTOMER_VISIBLE_FIELDS; docs/visibility.md).
_STAFF_ONLY = "Null to customers and integrations unless an admin shows it (docs/visibility.md)."


class SlaPolicyRef(BaseModel):
    id: int
    name: str


class SlaOut(BaseModel):
    """The ticket's service level (app/sla/): the policy its due times come from, the
    due times, and where its clock stands."""

    policy: SlaPolicyRef | None = Field(
        default=None, description="Which policy the due times come from. " + _STAFF_ONLY
    )
    first_response_due_at: datetime | None
    next_response_due_at: datetime | None = Field(
        default=None, description="While a customer message waits for an answer."
    )
    resolution_due_at: datetime | None
    paused: bool = Field(
        default=False, description="The clock stands still while the desk waits on the customer."
    )
    breached: bool | None = Field(description=_STAFF_ONLY)
    remaining_seconds: int | None = Field(
        default=None,
        description="Seconds until the soonest due time still to be met (negative once it "
        "has passed), frozen while paused; null when nothing is due.",
    )


class TicketOut(BaseModel):
    id: int
    subject: str
    description: str
    status: TicketStatus
    channel: Channel
    urgency: Level
    impact: Level | None = Field(description=_STAFF_ONLY)
    priority: Priority | None = Field(description=_STAFF_ONLY)
    category: str | None
    tags: list[str] | None = Field(description=_STAFF_ONLY)
    requester: RequesterRef
    owner: PersonRef | None
    team: PersonRef | None
    external_ref: str | None
    follow_up_of: int | None = Field(
        default=None, description="The closed ticket this one follows up (a reply to it)."
    )
    version: int
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    last_action: LastAction | None
    last_owner_change: OwnerChange | None = Field(
        default=None, description="Why the current contact (or the queue) has the case."
    )
    sla: SlaOut
    merged_into: int | None = Field(
        default=None, description="A duplicate (closed) names the ticket it was merged into."
    )
    problem_id: int | None = Field(
        default=None,
        description="The problem ticket this one is linked to, if any. " + _STAFF_ONLY,
    )


class TicketFilters(BaseModel):
    """The list filters, parsed from the query string."""

    status: list[TicketStatus] = Field(default_factory=list)
    owner_id: int | None = None
    unowned: bool = False  # owner_id=none
    team_id: int | None = None
    priority: list[Priority] = Field(default_factory=list)
    requester_id: int | None = None
    category: str | None = None
    tag: str | None = None
    channel: Channel | None = None
    q: str | None = None
    updated_since: datetime | None = None
