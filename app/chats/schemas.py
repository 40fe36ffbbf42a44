"""Chats as the API accepts and shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from app.common.types import Id, reject_nul

FirstMessage = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000),
    AfterValidator(reject_nul),
]
Topic = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=300),
    AfterValidator(reject_nul),
]


class ChatCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: FirstMessage = Field(description="What the customer opens the chat with.")
    subject: Topic | None = Field(default=None, description="Default: the message's start.")
    team_id: Id | None = Field(default=None, description="The team asked for, if any.")
    transcript_by_email: bool = Field(
        default=False,
        strict=True,
        description="Mail the customer the transcript when the chat ends.",
    )
    customer_id: Id | None = Field(
        default=None,
        description="Staff starting a chat with a customer name them; a customer opens "
        "chats for themselves and leaves it out.",
    )


class ChatOut(BaseModel):
    ticket_id: int = Field(
        description="The chat's ticket: messages at /tickets/{id}/messages, live on the "
        "WebSocket topic ticket:{id} (typing with presence frames)."
    )
    status: str
    transcript_by_email: bool
    fallback_at: datetime = Field(
        description="Unanswered by then, the conversation goes on by email, transcript sent."
    )
    created_at: datetime


class Availability(BaseModel):
    available: bool = Field(description="Whether to offer chat now.")
    agents_online: int = Field(description="Staff connected to the live channel now.")
    team_id: int | None
