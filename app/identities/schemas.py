"""Identities as the API shows and accepts them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from app.common.types import reject_nul
from app.models import IdentityKind


class IdentityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: IdentityKind
    value: Annotated[
        str, StringConstraints(min_length=1, max_length=320), AfterValidator(reject_nul)
    ] = Field(
        description="An email address, a phone number (international, E.164 or written "
        "with spaces), or a handle; stored normalised."
    )
    source: Annotated[str, StringConstraints(max_length=32), AfterValidator(reject_nul)] | None = (
        Field(default=None, description="For a handle: where it lives, e.g. twitter, whatsapp.")
    )


class IdentityOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    kind: IdentityKind
    source: str | None
    value: str
    created_at: datetime
