"""Bulk changes as the API accepts and shows them."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from app.common.types import MAX_BIGINT, Id
from app.models import TicketStatus
from app.tickets.schemas import AssignRequest, Note, Tags, TicketOut

MAX_TICKETS = 100


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BulkStatus(_Input):
    status: TicketStatus
    note: Note | None = None


class BulkTags(_Input):
    add: Tags = Field(default_factory=list)
    remove: Tags = Field(default_factory=list)

    @model_validator(mode="after")
    def _something(self) -> BulkTags:
        if not self.add and not self.remove:
            raise ValueError("name tags to add or to remove")
        return self


def _unique(ids: list[int]) -> list[int]:
    if len(set(ids)) != len(ids):
        raise ValueError("each ticket once")
    return ids


class BulkChange(_Input):
    ids: Annotated[list[Id], Field(min_length=1, max_length=MAX_TICKETS), AfterValidator(_unique)]
    versions: dict[int, Annotated[int, Field(ge=1, le=2**31 - 1)]] = Field(
        default_factory=dict,
        description="Per ticket, the version you last read (its ETag without quotes), e.g. "
        '{"42": 3}: a ticket that has changed since is not changed (412 in its result). '
        "Tickets not named here are changed whatever their version.",
    )
    status: BulkStatus | None = None
    assign: AssignRequest | None = None
    tags: BulkTags | None = None

    @model_validator(mode="after")
    def _one_change(self) -> BulkChange:
        given = [name for name in ("status", "assign", "tags") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one change: status, assign or tags")
        strangers = sorted(set(self.versions) - set(self.ids))
        if strangers:
            raise ValueError(f"versions names tickets not in ids: {strangers[:5]}")
        if any(not 1 <= key <= MAX_BIGINT for key in self.versions):
            raise ValueError("versions are keyed by ticket ids")
        return self


class BulkProblem(BaseModel):
    """The problem details (RFC 9457) this ticket's change would have answered alone."""

    type: str
    title: str
    status: int
    detail: str
    extra: dict[str, Any] | None = None


class BulkResult(BaseModel):
    id: int
    status: int = Field(description="The HTTP status this ticket's change would have had.")
    ticket: TicketOut | None = Field(default=None, description="The ticket after the change.")
    problem: BulkProblem | None = Field(default=None, description="Why it was not changed.")


class BulkOut(BaseModel):
    results: list[BulkResult] = Field(description="One per ticket, in the order of `ids`.")
