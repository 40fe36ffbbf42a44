"""Sign-in as the API accepts and shows it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from app.common.types import reject_nul


class LinkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr = Field(description="The address to mail the link to.")


class LinkRequested(BaseModel):
    detail: str = Field(
        description="The same words whatever the address: whether it belongs to a customer "
        "is never told."
    )


class LinkRedeem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: Annotated[
        str, StringConstraints(min_length=1, max_length=200), AfterValidator(reject_nul)
    ] = Field(description="The token from the emailed link.")


class SignedIn(BaseModel):
    token: str = Field(description="An API token for the customer; shown only here.")
    expires_at: datetime
