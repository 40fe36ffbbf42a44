"""API tokens as the API shows and accepts them."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from app.auth.scopes import TokenScope
from app.common.types import ShortText


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: ShortText = Field(description="What the token is for, e.g. 'CRM integration'.")
    expires_at: AwareDatetime | None = Field(
        default=None, description="When the token stops working; omit for no expiry."
    )
    scopes: list[TokenScope] = Field(
        default_factory=list,
        max_length=len(TokenScope),
        description="What the token may do beyond its user's role. Only an admin may grant "
        "a scope, and only on an integration's token (otherwise 403 / 422). "
        "`metrics:read`: read the figures (/metrics/*, /insights/emerging) and the alert "
        "history (/alerts) as a supervisor would, and receive alert webhooks.",
    )

    @field_validator("scopes")
    @classmethod
    def _unique(cls, value: list[TokenScope]) -> list[TokenScope]:
        return list(dict.fromkeys(value))

    @field_validator("expires_at")
    @classmethod
    def _storable(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        try:
            utc = value.astimezone(UTC)
        except OverflowError:
            raise ValueError("must be before the year 9999") from None
        if utc.year >= 9999:
            raise ValueError("must be before the year 9999")
        return utc


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    name: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    scopes: list[str]


class TokenCreated(BaseModel):
    id: int
    name: str
    token: str = Field(description="The secret. It is shown only in this response.")
    created_at: datetime
    expires_at: datetime | None
    scopes: list[str]
