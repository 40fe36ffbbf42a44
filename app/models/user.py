"""People and their credentials: users (every role) and their API tokens."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, ForeignKey, String, text
from sqlalchemy import Enum as SqlEnum
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigId, CreatedAt, UpdatedAt


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    AGENT = "agent"
    CUSTOMER = "customer"
    INTEGRATION = "integration"

    @property
    def is_staff(self) -> bool:
        """People inside the company who work tickets."""
        return self in STAFF_ROLES


STAFF_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.AGENT})


def enum_column(enum: type[StrEnum], name: str) -> SqlEnum:
    """A StrEnum stored as text with a CHECK constraint: readable, and cheap to extend."""
    return SqlEnum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class User(Base):
    __tablename__ = "users"

    id: Mapped[BigId]
    # Stored lower-cased: addresses are matched case-insensitively everywhere.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(enum_column(Role, "user_role"))
    phone: Mapped[str | None] = mapped_column(String(32))
    timezone: Mapped[str] = mapped_column(String(64), server_default=text("'UTC'"))
    locale: Mapped[str] = mapped_column(String(16), server_default=text("'en'"))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    # Set when mail to this address bounced for good: the outbox stops emailing it.
    email_undeliverable_at: Mapped[datetime | None]
    email_undeliverable_reason: Mapped[str | None] = mapped_column(String(500))
    # Set when they texted STOP (or a synonym) to the desk's number, cleared by START:
    # the outbox sends them no SMS meanwhile.
    sms_opted_out_at: Mapped[datetime | None]
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]


class ApiToken(Base):
    """An opaque bearer token. Only the SHA-256 of the token is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[BigId]
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[bytes] = mapped_column(unique=True)
    created_at: Mapped[CreatedAt]
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # What the token may do beyond its user's role (app/auth/scopes.py); only an
    # integration's token holds any, and they never change after the token is issued.
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(32)), server_default=text("'{}'"))
