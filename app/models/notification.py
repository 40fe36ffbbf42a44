"""The outbox: one delivery row per recipient and channel, written with the change.

Workers claim due rows with FOR UPDATE SKIP LOCKED and a lease; a worker that dies
mid-send leaves its lease to run out, and another worker retries the row.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigId, CreatedAt
from app.models.user import enum_column


class DeliveryChannel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    WEBHOOK = "webhook"


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # due at next_attempt_at
    SENDING = "sending"  # leased by a worker until lease_expires_at
    DELIVERED = "delivered"
    DEAD = "dead"  # every attempt failed; visible, and can be retried by hand
    CANCELLED = "cancelled"  # e.g. the webhook endpoint was deleted


class NotificationDelivery(Base):
    __tablename__ = "notification_deliveries"
    __table_args__ = (
        # What workers look for: due pending rows, and expired leases.
        Index(
            "ix_notification_deliveries_due",
            "next_attempt_at",
            postgresql_where=text("status IN ('pending', 'sending')"),
        ),
        Index("ix_notification_deliveries_ticket_id_id", "ticket_id", "id"),
        Index("ix_notification_deliveries_webhook_id_id", "webhook_id", "id"),
        # Coalescing looks for an unsent row for the same recipient, channel and ticket.
        Index(
            "ix_notification_deliveries_coalesce",
            "recipient_id",
            "channel",
            "ticket_id",
            postgresql_where=text("status = 'pending'"),
        ),
        # /metrics counts dead deliveries per channel without reading the whole table.
        Index(
            "ix_notification_deliveries_dead",
            "channel",
            postgresql_where=text("status = 'dead'"),
        ),
    )

    id: Mapped[BigId]
    ticket_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("tickets.id", ondelete="CASCADE")
    )
    recipient_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE")
    )
    webhook_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    channel: Mapped[DeliveryChannel] = mapped_column(
        enum_column(DeliveryChannel, "delivery_channel")
    )
    # The events this delivery tells about (several when rapid changes were coalesced).
    event_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), server_default=text("'{}'"))
    # What to say, rendered at send time: kind, reason codes, names, the ticket subject.
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_column(DeliveryStatus, "delivery_status"), server_default=text("'pending'")
    )
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    max_attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    lease_expires_at: Mapped[datetime | None]
    leased_by: Mapped[str | None] = mapped_column(String(64))
    # Stable across retries, so the receiving side can recognise a repeat: the email
    # Message-ID, the webhook-id.
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    response_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    delivered_at: Mapped[datetime | None]
    # Email: a bounce came back for this message after it was handed over.
    bounced_at: Mapped[datetime | None]
    bounce_reason: Mapped[str | None] = mapped_column(String(500))
    # SMS: the provider's id of the message and its latest status (queued, sent,
    # delivered, undelivered, failed), from its delivery-status callbacks.
    provider_ref: Mapped[str | None] = mapped_column(String(64))
    provider_status: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[CreatedAt]


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"

    id: Mapped[BigId]
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(200))
    # Standard Webhooks secret, "whsec_" + base64 of the key bytes.
    secret: Mapped[str] = mapped_column(String(100))
    event_kinds: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    # Internal notes and internal events go only to endpoints that ask for them.
    include_internal: Mapped[bool] = mapped_column(server_default=text("false"))
    active: Mapped[bool] = mapped_column(server_default=text("true"))
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    failing_since: Mapped[datetime | None]
    # The integration whose connector this endpoint is: public replies on tickets that
    # integration brought in (POST /inbound/messages) go out here as `channel.reply`.
    integration_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[CreatedAt]


class NotificationPreference(Base):
    """Which channels a person wants for which kind of news (absent = the defaults)."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    topic: Mapped[str] = mapped_column(String(32), primary_key=True)
    channels: Mapped[list[str]] = mapped_column(ARRAY(String(16)))
    updated_at: Mapped[CreatedAt]


class TicketFollower(Base):
    """Staff who follow a ticket hear about it without owning it."""

    __tablename__ = "ticket_followers"

    ticket_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[CreatedAt]
