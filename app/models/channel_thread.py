"""Conversations on other channels (a social thread, a customer's SMS number) and the
ticket each one is on, so every message of one conversation lands on one ticket."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigId, CreatedAt


class ChannelThread(Base):
    """One conversation of a connector, keyed by its own reference.

    `connector` names who brings the messages in: `integration:<user id>` for the
    generic intake (whose replies go back through that integration's webhook), `twilio`
    for SMS. `thread_ref` is the connector's own id of the conversation (a post thread, a
    chat id; for SMS the customer's number and the desk's). The row follows the
    conversation: when its messages land on another ticket (a follow-up, the primary
    of a merge) it points there from then on.
    """

    __tablename__ = "channel_threads"
    __table_args__ = (
        UniqueConstraint("connector", "source", "thread_ref"),
        Index("ix_channel_threads_ticket_id", "ticket_id"),
    )

    id: Mapped[BigId]
    connector: Mapped[str] = mapped_column(String(64))
    integration_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE")
    )
    source: Mapped[str] = mapped_column(String(32))
    thread_ref: Mapped[str] = mapped_column(String(300))
    ticket_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("tickets.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    # The customer's handle (or number) on the connector: where replies go.
    handle: Mapped[str] = mapped_column(String(320))
    last_inbound_at: Mapped[datetime]
    created_at: Mapped[CreatedAt]
