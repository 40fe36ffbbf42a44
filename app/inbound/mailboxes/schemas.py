"""Mailboxes as the API shows and accepts them. Secrets go in, never out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from app.common.types import Id, ShortText, reject_nul
from app.models import MailboxAuth, MailboxSecurity

Host = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=255, pattern=r"^[^\s/]+$"),
]
Folder = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=255),
    AfterValidator(reject_nul),
]
Username = Annotated[
    str, StringConstraints(min_length=1, max_length=320), AfterValidator(reject_nul)
]
Secret = Annotated[
    str, StringConstraints(min_length=1, max_length=8192), AfterValidator(reject_nul)
]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MailboxCreate(_Input):
    name: ShortText
    host: Host
    port: int = Field(default=993, ge=1, le=65535)
    security: MailboxSecurity = MailboxSecurity.TLS
    username: Username
    auth: MailboxAuth = Field(
        default=MailboxAuth.PASSWORD,
        description="password (LOGIN) or xoauth2 (an OAuth2 access token, as Gmail and "
        "Microsoft 365 want)",
    )
    password: Secret | None = Field(default=None, description="For auth=password. Never shown.")
    access_token: Secret | None = Field(
        default=None, description="For auth=xoauth2. Never shown; replace it when it expires."
    )
    folder: Folder = "INBOX"
    move_to: Folder | None = Field(
        default=None, description="Move each recorded mail here; unset: it is flagged \\Seen."
    )
    team_id: Id | None = Field(default=None, description="New tickets from it go to this team.")
    active: bool = True

    @model_validator(mode="after")
    def _one_secret(self) -> MailboxCreate:
        needed = "password" if self.auth is MailboxAuth.PASSWORD else "access_token"
        other = "access_token" if needed == "password" else "password"
        if getattr(self, needed) is None:
            raise ValueError(f"auth={self.auth.value} needs {needed}")
        if getattr(self, other) is not None:
            raise ValueError(f"auth={self.auth.value} takes {needed}, not {other}")
        return self


class MailboxUpdate(_Input):
    name: ShortText | None = None
    host: Host | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    security: MailboxSecurity | None = None
    username: Username | None = None
    auth: MailboxAuth | None = None
    password: Secret | None = None
    access_token: Secret | None = None
    folder: Folder | None = None
    move_to: Folder | None = Field(default=None, description="null: flag \\Seen only")
    team_id: Id | None = Field(default=None, description="null clears it")
    active: bool | None = None


class MailboxOut(BaseModel):
    id: int
    name: str
    host: str
    port: int
    security: MailboxSecurity
    username: str
    auth: MailboxAuth
    folder: str
    move_to: str | None
    team_id: int | None
    active: bool
    last_polled_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    created_at: datetime
    updated_at: datetime
