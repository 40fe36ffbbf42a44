"""Customer sign-in by emailed link: the requests waiting to be mailed, the links, and
the counters that limit how often anyone may ask."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigId, CreatedAt


class SignInRequest(Base):
    """Someone asked for a link for this address. The request answers 202 at once for any
    address; whether one is mailed is decided in the background, from this row, so the
    answer takes the same time whether the address is known or not."""

    __tablename__ = "sign_in_requests"

    id: Mapped[BigId]
    email: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[CreatedAt]


class SignInLink(Base):
    """A one-time link mailed to a customer. Only its token's SHA-256 is stored; the token
    is derived from the service secret and a nonce that only the email carries."""

    __tablename__ = "sign_in_links"
    __table_args__ = (Index("ix_sign_in_links_user_id", "user_id"),)

    id: Mapped[BigId]
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    # The API token it was exchanged for.
    api_token_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("api_tokens.id", ondelete="SET NULL")
    )
    created_at: Mapped[CreatedAt]


class SignInThrottle(Base):
    """Requests per key (an address, a client) in a fixed window. Kept in PostgreSQL so
    every process counts against one limit."""

    __tablename__ = "sign_in_throttle"
    __table_args__ = (Index("ix_sign_in_throttle_window_start", "window_start"),)

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(primary_key=True)
    hits: Mapped[int] = mapped_column(Integer, server_default=text("0"))
