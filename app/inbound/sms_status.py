"""The SMS provider's delivery-status callbacks: what became of a text the desk sent.

Each outgoing text names its delivery in the callback URL (`?delivery=<key>`, signed by
the provider with the rest). Statuses only move forward (callbacks may arrive out of
order): queued, sending, sent, then delivered, undelivered or failed. A text the
carrier could not deliver makes its delivery dead, with the provider's error code, like
any other delivery that failed for good.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import NotFound
from app.models import DeliveryChannel, DeliveryStatus, NotificationDelivery

_RANK = {
    "accepted": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "undelivered": 4,
    "failed": 4,
    "canceled": 4,
}
FAILED = frozenset({"undelivered", "failed"})


async def record_status(
    session: AsyncSession, delivery_key: str, params: dict[str, str]
) -> NotificationDelivery:
    delivery = await session.scalar(
        select(NotificationDelivery)
        .where(
            NotificationDelivery.idempotency_key == delivery_key,
            NotificationDelivery.channel == DeliveryChannel.SMS,
        )
        .with_for_update()
    )
    if delivery is None:
        raise NotFound("No text message was sent under that delivery.")
    status = (params.get("MessageStatus") or params.get("SmsStatus") or "").lower()[:32]
    if status not in _RANK:
        return delivery  # a status we do not know: kept out rather than guessed at
    current = _RANK.get(delivery.provider_status or "", -1)
    if _RANK[status] < current:
        return delivery  # an older callback arriving late
    sid = params.get("MessageSid") or params.get("SmsSid")
    if sid:
        delivery.provider_ref = sid[:64]
    delivery.provider_status = status
    now = datetime.now(UTC)
    if status in FAILED:
        code = params.get("ErrorCode") or "none"
        delivery.status = DeliveryStatus.DEAD
        delivery.last_error = f"the provider reports the text {status} (error code {code})"[:500]
        delivery.lease_expires_at = None
        delivery.leased_by = None
    delivery.updated_at = now
    await session.flush()
    return delivery
