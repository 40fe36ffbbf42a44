"""Attachments as the API shows them."""

from __future__ import annotations

from pydantic import BaseModel, Field


class AttachmentOut(BaseModel):
    id: int
    filename: str | None
    content_type: str = Field(description="The type recorded when it was stored.")
    size: int = Field(description="Bytes.")
    sha256: str = Field(description="The SHA-256 of its content, hex.")
    inline: bool = Field(
        default=False, description="Shown in the body by its sender (an image in a signature)."
    )
