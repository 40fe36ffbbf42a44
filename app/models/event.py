"""The timeline: one append-only row per change to a ticket.

It is the audit log, what the WebSocket pushes, what notifications are derived from,
and what the metrics are computed from. Rows are never updated or deleted.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigId, CreatedAt
from app.models.ticket import Visibility
from app.models.user import enum_column


class TicketEvent(Base):
    __tablename__ = "ticket_events"
    __table_args__ = (
        Index("ix_ticket_events_ticket_id_id", "ticket_id", "id"),
        Index("ix_ticket_events_txid", "txid"),
    )

    id: Mapped[BigId]
    ticket_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("tickets.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(64))
    visibility: Mapped[Visibility] = mapped_column(enum_column(Visibility, "event_visibility"))
    actor_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    # The ticket's version after this change: a console can tell if it is up to date.
    ticket_version: Mapped[int] = mapped_column(Integer)
    # The writing transaction: ids are handed out at insert but commit in another
    # order; the transaction id lets a reader resume without skipping a late commit.
    txid: Mapped[int] = mapped_column(
        BigInteger, server_default=text("(pg_current_xact_id()::text)::bigint")
    )
    created_at: Mapped[CreatedAt]
