"""Threshold alerts: rules on a metric, and the history of their firing and resolving."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Double, ForeignKey, Index, Integer, String, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigId, CreatedAt, UpdatedAt


class AlertRule(Base):
    """Fire when `metric` over the last `window_minutes` (for one filter) compares to
    `threshold`; resolve when it no longer does. Recipients: staff user ids, or every
    supervisor and admin when empty; and the webhook endpoints in `webhook_ids`."""

    __tablename__ = "alert_rules"

    id: Mapped[BigId]
    name: Mapped[str] = mapped_column(String(200))
    metric: Mapped[str] = mapped_column(String(64))
    filter_dim: Mapped[str | None] = mapped_column(String(16))
    filter_value: Mapped[str | None] = mapped_column(String(120))
    window_minutes: Mapped[int] = mapped_column(Integer)
    comparison: Mapped[str] = mapped_column(String(8))
    threshold: Mapped[float] = mapped_column(Double)
    # Below this many observations (answered surveys for CSAT, resolutions for a rate),
    # the figure is too thin to act on: the rule does not fire.
    min_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    cooldown_minutes: Mapped[int] = mapped_column(Integer)
    recipient_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), server_default=text("'{}'"))
    webhook_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), server_default=text("'{}'"))
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    firing: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    last_fired_at: Mapped[datetime | None]
    last_value: Mapped[float | None] = mapped_column(Double)
    last_evaluated_at: Mapped[datetime | None]
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]


class Alert(Base):
    """One firing or resolving of a rule: the history `GET /alerts` shows."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_rule_id_id", "rule_id", "id"),)

    id: Mapped[BigId]
    rule_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("alert_rules.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(String(32))  # alert.fired | alert.resolved
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[CreatedAt]
