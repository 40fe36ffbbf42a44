"""People as the API shows and accepts them: users and teams."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from app.common.types import Id, Locale, Name, Phone, ShortText, TimeZoneName
from app.models import AssignmentMode, Role

TeamIds = Annotated[list[Id], Field(max_length=50)]
MemberIds = Annotated[list[Id], Field(max_length=1000)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _unique(ids: list[int] | None) -> list[int] | None:
    return None if ids is None else list(dict.fromkeys(ids))


class UserCreate(_Input):
    email: EmailStr
    name: Name
    role: Role
    phone: Phone | None = None
    timezone: TimeZoneName = "UTC"
    locale: Locale = "en"
    team_ids: TeamIds = Field(default_factory=list)

    _dedupe_teams = field_validator("team_ids")(_unique)


class UserUpdate(_Input):
    """Every field optional; the profile fields (name, phone, timezone, locale) are the
    only ones people may change for themselves."""

    name: Name | None = None
    role: Role | None = None
    phone: Phone | None = None
    timezone: TimeZoneName | None = None
    locale: Locale | None = None
    active: bool | None = Field(default=None, description="false marks someone who has left.")
    team_ids: TeamIds | None = None
    email_undeliverable_at: None = Field(
        default=None,
        description="Send null when mail to this address works again (a bounce marked it "
        "undeliverable).",
    )

    _dedupe_teams = field_validator("team_ids")(_unique)


PROFILE_FIELDS = frozenset({"name", "phone", "timezone", "locale"})


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    name: str
    role: Role
    phone: str | None
    timezone: str
    locale: str
    active: bool
    available: bool | None = Field(
        default=None,
        description="Agents and supervisors: active and not away right now (they can get "
        "tickets). null for everyone else.",
    )
    team_ids: list[int]
    email_undeliverable_at: datetime | None = Field(
        default=None,
        description="When mail to this address bounced for good; the desk no longer emails it.",
    )
    email_undeliverable_reason: str | None = None
    created_at: datetime
    updated_at: datetime


class UserUpdated(UserOut):
    """The user after a change, and what the change did to their API tokens."""

    tokens_revoked: int = Field(
        description="Tokens this change revoked. Deactivating a user revokes every token "
        "they hold, at once."
    )
    active_tokens: int = Field(
        description="Tokens the user holds now. Reactivating a user does not bring revoked "
        "tokens back: issue new ones (POST /api/v1/users/{id}/tokens)."
    )


def _lower(address: str | None) -> str | None:
    return None if address is None else address.lower()


TeamAddress = Annotated[
    EmailStr,
    Field(description="Mail to this address (billing@...) becomes a ticket of this team."),
]


class TeamCreate(_Input):
    name: ShortText
    member_ids: MemberIds = Field(default_factory=list)
    assignment: AssignmentMode = AssignmentMode.MANUAL
    email_address: TeamAddress | None = None

    _dedupe_members = field_validator("member_ids")(_unique)
    _lower_address = field_validator("email_address")(_lower)


class TeamUpdate(_Input):
    name: ShortText | None = None
    member_ids: MemberIds | None = Field(default=None, description="Replaces the members.")
    assignment: AssignmentMode | None = None
    email_address: TeamAddress | None = Field(default=None, description="null clears it")

    _dedupe_members = field_validator("member_ids")(_unique)
    _lower_address = field_validator("email_address")(_lower)


class TeamOut(BaseModel):
    id: int
    name: str
    assignment: AssignmentMode
    member_ids: list[int]
    email_address: str | None = None
    created_at: datetime
    updated_at: datetime


NOT_NULLABLE_USER_FIELDS = frozenset({"name", "role", "timezone", "locale", "active", "team_ids"})
NOT_NULLABLE_TEAM_FIELDS = frozenset({"name", "member_ids", "assignment"})


def explicit_changes(update: BaseModel, not_nullable: frozenset[str]) -> dict[str, object]:
    """The fields the caller actually sent; `null` is only accepted where it means "clear"."""
    changes = update.model_dump(exclude_unset=True)
    nulled = sorted(
        name for name, value in changes.items() if value is None and name in not_nullable
    )
    if nulled:
        from app.errors import UnprocessableEntity

        raise UnprocessableEntity(f"These fields cannot be null: {', '.join(nulled)}.")
    return changes
