"""Notifications as the API shows and accepts them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.common.types import Id
from app.models import DeliveryChannel, DeliveryStatus
from app.notifications.rules import NoticeTopic


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ticket_id: int | None
    recipient_id: int | None
    webhook_id: int | None
    channel: DeliveryChannel
    status: DeliveryStatus
    event_ids: list[int]
    attempts: int
    max_attempts: int
    next_attempt_at: datetime
    last_error: str | None
    response_code: int | None
    latency_ms: int | None
    delivered_at: datetime | None
    bounced_at: datetime | None = Field(
        default=None, description="Email: a bounce came back for it after it was handed over."
    )
    bounce_reason: str | None = None
    idempotency_key: str
    created_at: datetime


class PreferencesOut(BaseModel):
    """Channels per topic; topics not listed use the default (email)."""

    preferences: dict[NoticeTopic, list[DeliveryChannel]]


class PreferencesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    preferences: dict[NoticeTopic, list[DeliveryChannel]] = Field(
        description="An empty list silences a topic (not allowed for a customer's essential "
        "topics: replies, status, contact)."
    )


class FollowerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: Id
