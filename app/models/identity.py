"""One customer across channels: the addresses, numbers and handles that are theirs, and
the record of customer records merged into one.

Every user's own email address is one of their identities (a trigger keeps it so, from
the migration 2026-12-05_channels on), so an address belongs to one person whichever
table it is looked up in.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigId, CreatedAt
from app.models.user import enum_column

# Customers known only by a phone number or a handle still need a users.email (it is
# unique and required): an address under the reserved .invalid top-level domain
# (RFC 2606), which no mail can reach and which is never an identity.
NO_EMAIL_DOMAIN = "no-email.invalid"


class IdentityKind(StrEnum):
    EMAIL = "email"  # lower case
    PHONE = "phone"  # E.164
    HANDLE = "handle"  # per source: the network or connector it belongs to


class Identity(Base):
    __tablename__ = "identities"
    __table_args__ = (
        # One address, number or handle belongs to one person.
        UniqueConstraint("kind", "source", "value"),
        Index("ix_identities_user_id", "user_id"),
    )

    id: Mapped[BigId]
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[IdentityKind] = mapped_column(enum_column(IdentityKind, "identity_kind"))
    # Where a handle lives ("twitter", "whatsapp", ...); empty for emails and phones.
    source: Mapped[str] = mapped_column(String(32), server_default=text("''"))
    value: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[CreatedAt]


class CustomerMerge(Base):
    """A customer record merged into another: the merged one is deactivated and points at
    the survivor, which now holds its tickets and identities."""

    __tablename__ = "customer_merges"

    merged_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    survivor_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    actor_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[CreatedAt]
