"""Stored first responses of creating POSTs, replayed for a retried Idempotency-Key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, SmallInteger
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigId, CreatedAt


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_records"
    __table_args__ = (Index("ix_idempotency_records_expires_at", "expires_at"),)

    id: Mapped[BigId]
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    # SHA-256 of the key: the key itself also decrypts the stored response, so it is
    # never stored (a leaked table reveals no response, tokens included).
    key_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    request_hash: Mapped[bytes] = mapped_column(LargeBinary)
    status_code: Mapped[int] = mapped_column(SmallInteger)
    response: Mapped[bytes] = mapped_column(LargeBinary)  # AES-GCM: nonce + ciphertext
    created_at: Mapped[CreatedAt]
    expires_at: Mapped[datetime]
