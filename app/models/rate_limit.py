"""The shared state of the request rate limit: one bucket per user, for every process."""

from __future__ import annotations

from sqlalchemy import BigInteger, Double, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class RateLimitBucket(Base):
    """A user's token bucket, as GCRA keeps it: one timestamp.

    `tat` (theoretical arrival time, seconds since the epoch on the database's clock) is
    when the bucket would be full again; `granted` is what the last lease handed out.
    UNLOGGED: losing the buckets in a crash costs a fresh burst, not data, and saves
    the WAL a write per lease would cost.
    """

    __tablename__ = "rate_limit_buckets"
    __table_args__ = {"prefixes": ["UNLOGGED"]}  # noqa: RUF012 - SQLAlchemy's declarative form

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    tat: Mapped[float] = mapped_column(Double)
    granted: Mapped[int] = mapped_column(Integer)
