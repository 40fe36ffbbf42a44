"""Problem links as the API accepts and shows them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.common.types import Id
from app.conversations.schemas import Body
from app.models import LinkRelation, TicketStatus


class ProblemLink(BaseModel):
    model_config = ConfigDict(extra="forbid")

    problem_id: Id = Field(description="The problem ticket this incident is caused by.")


class LinkedTicketRef(BaseModel):
    id: int
    subject: str
    status: TicketStatus


class LinkedTicket(BaseModel):
    relation: LinkRelation = Field(
        description="What the linked ticket is to this one: its `problem`, one of its "
        "`incident`s, the primary it was `merged_into`, a duplicate `merged_from` it."
    )
    ticket: LinkedTicketRef
    linked_at: datetime


class LinkedPage(BaseModel):
    items: list[LinkedTicket]
    next_cursor: str | None
    counts: dict[LinkRelation, int] = Field(
        description="Every link of the ticket the caller may see, per relation (all pages)."
    )


class IncidentUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: Body = Field(
        description="A public update: posted on the problem, and on one ticket of every "
        "other requester of its incidents."
    )


class PostedUpdate(BaseModel):
    ticket_id: int
    message_id: int
    requester_id: int


class IncidentUpdateOut(BaseModel):
    problem_message_id: int
    incidents: list[PostedUpdate] = Field(
        description="One per requester: the update on their own most recently active ticket."
    )
