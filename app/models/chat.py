"""Chat: a customer's live conversation (a ticket with channel chat), and which staff are
connected to the live channel right now, in whichever process serves them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, CreatedAt

# A presence row not refreshed for this long is a connection that is gone.
PRESENCE_FRESH_SECONDS = 90.0


class Chat(Base):
    __tablename__ = "chats"
    __table_args__ = (
        # What the fallback looks for: chats not yet handed to email.
        Index("ix_chats_waiting", "created_at", postgresql_where=text("fell_back_at IS NULL")),
    )

    ticket_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    customer_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    # The customer asked for the transcript by email when the chat ends.
    transcript_requested: Mapped[bool] = mapped_column(server_default=text("false"))
    transcript_sent_at: Mapped[datetime | None]
    # Nobody answered in time: the conversation went on by email, transcript included.
    fell_back_at: Mapped[datetime | None]
    created_at: Mapped[CreatedAt]


class LivePresence(Base):
    """One staff WebSocket connection, refreshed while it lives: chat is offered while a
    team has someone here. A process that dies leaves rows that go stale, not wrong."""

    __tablename__ = "live_presence"

    connection_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    last_seen_at: Mapped[datetime]
