"""Keeping track of webhook endpoints that keep failing (filled in with the webhooks API)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import WebhookEndpoint
from app.notifications.channels.base import Outcome


async def record_webhook_outcome(
    session: AsyncSession, endpoint_id: int, outcome: Outcome, now: datetime
) -> None:
    if outcome.delivered:
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.failing_since.is_not(None))
            .values(failing_since=None)
        )
        return
    if outcome.disable_endpoint:
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint_id)
            .values(active=False, disabled_reason="the receiver answered 410 Gone", updated_at=now)
        )
        return
    await session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.failing_since.is_(None))
        .values(failing_since=now)
    )
