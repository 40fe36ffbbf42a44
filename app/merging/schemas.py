"""Merges as the API accepts and shows them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from app.common.types import Id
from app.tickets.schemas import Note


class TicketMerge(BaseModel):
    model_config = ConfigDict(extra="forbid")

    into_id: Id = Field(description="The primary: the ticket the duplicate lives on in.")
    into_version: int | None = Field(
        default=None,
        ge=1,
        le=2**31 - 1,
        strict=True,
        description="The primary's version you last read (its ETag without the quotes); "
        "if it has changed since, 412 and nothing is merged. `If-Match` carries the "
        "duplicate's.",
    )
    note: Note | None = Field(default=None, description="For staff: why these are one request.")


class CustomerMerge(BaseModel):
    model_config = ConfigDict(extra="forbid")

    into_id: Id = Field(description="The customer record that survives.")


class CustomerMergeOut(BaseModel):
    merged_id: int
    survivor_id: int
    tickets_moved: int = Field(description="Tickets whose requester is now the survivor.")
    identities_moved: int
