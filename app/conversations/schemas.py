"""Messages as the API shows and accepts them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from app.attachments.schemas import AttachmentOut
from app.common.types import reject_nul
from app.events.schemas import ActorOut
from app.models import Channel, Visibility

Body = Annotated[
    str, StringConstraints(min_length=1, max_length=100_000), AfterValidator(reject_nul)
]


class MessageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: Body = Field(description="Plain text, stored and returned exactly as given.")
    visibility: Visibility = Field(
        default=Visibility.PUBLIC, description="internal notes are for staff only"
    )
    channel: Channel | None = Field(
        default=None, description="Where it came from, e.g. phone for a call logged by an agent."
    )


class MessageOut(BaseModel):
    id: int
    ticket_id: int
    author: ActorOut
    visibility: Visibility
    channel: Channel
    body: str = Field(
        description="What the author wrote. For email, the new text only: the quoted history "
        "and the signature stay in the original (GET .../messages/{id}/original)."
    )
    attachments: list[AttachmentOut] = Field(default_factory=list)
    created_at: datetime
