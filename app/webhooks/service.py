"""Webhook use cases: endpoints, their secrets, their deliveries. Services flush, never commit."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict, NotFound, UnprocessableEntity
from app.models import DeliveryStatus, NotificationDelivery, Role, User, WebhookEndpoint
from app.notifications.channels.targets import TargetError, TargetPolicy, vet_target
from app.notifications.service import send_again
from app.webhooks.schemas import NOT_NULLABLE_FIELDS, WebhookCreate, WebhookUpdate

SECRET_BYTES = 24
DISABLED_BY_ADMIN = "disabled by an admin"


def new_secret() -> str:
    """A Standard Webhooks secret: whsec_ and the base64 of random key bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


async def _check_target(url: str, policy: TargetPolicy) -> None:
    try:
        await vet_target(url, policy)
    except TargetError as exc:
        raise UnprocessableEntity(
            f"The webhook URL cannot be used: {exc}", extra={"errors": [_url_issue(str(exc))]}
        ) from None


def _url_issue(message: str) -> dict[str, Any]:
    return {"loc": ["body", "url"], "msg": message}


async def create_webhook(
    session: AsyncSession, admin: User, data: WebhookCreate, policy: TargetPolicy
) -> WebhookEndpoint:
    await _check_target(data.url, policy)
    if data.integration_id is not None:
        await _check_integration(session, data.integration_id)
    now = datetime.now(UTC)
    endpoint = WebhookEndpoint(
        url=data.url,
        description=data.description,
        secret=new_secret(),
        event_kinds=[str(kind) for kind in data.event_kinds],
        include_internal=data.include_internal,
        integration_id=data.integration_id,
        active=True,
        created_by_id=admin.id,
        created_at=now,
        updated_at=now,
    )
    session.add(endpoint)
    await session.flush()
    return endpoint


async def list_webhooks(
    session: AsyncSession, *, active: bool | None, after_id: int | None, limit: int
) -> Sequence[WebhookEndpoint]:
    query = select(WebhookEndpoint).order_by(WebhookEndpoint.id).limit(limit)
    if active is not None:
        query = query.where(WebhookEndpoint.active.is_(active))
    if after_id is not None:
        query = query.where(WebhookEndpoint.id > after_id)
    return (await session.scalars(query)).all()


async def get_webhook(
    session: AsyncSession, webhook_id: int, *, for_update: bool = False
) -> WebhookEndpoint:
    endpoint = await session.get(WebhookEndpoint, webhook_id, with_for_update=for_update)
    if endpoint is None:
        raise NotFound(f"Webhook {webhook_id} does not exist.")
    return endpoint


async def update_webhook(
    session: AsyncSession, webhook_id: int, data: WebhookUpdate, policy: TargetPolicy
) -> WebhookEndpoint:
    changes = data.model_dump(exclude_unset=True)
    nulled = sorted(k for k, v in changes.items() if v is None and k in NOT_NULLABLE_FIELDS)
    if nulled:
        raise UnprocessableEntity(f"These fields cannot be null: {', '.join(nulled)}.")
    if "url" in changes:
        await _check_target(changes["url"], policy)  # before any lock: DNS may be slow
    endpoint = await get_webhook(session, webhook_id, for_update=True)
    if "url" in changes:
        endpoint.url = changes["url"]
    if "event_kinds" in changes:
        endpoint.event_kinds = [str(kind) for kind in changes["event_kinds"]]
    if "include_internal" in changes:
        endpoint.include_internal = changes["include_internal"]
    if "description" in changes:
        endpoint.description = changes["description"]
    if "integration_id" in changes:
        if changes["integration_id"] is not None:
            await _check_integration(session, changes["integration_id"])
        endpoint.integration_id = changes["integration_id"]
    if changes.get("active") is True and not endpoint.active:
        endpoint.active = True
        endpoint.disabled_reason = None
        endpoint.failing_since = None
    elif changes.get("active") is False and endpoint.active:
        endpoint.active = False
        endpoint.disabled_reason = DISABLED_BY_ADMIN
    endpoint.updated_at = datetime.now(UTC)
    await session.flush()
    return endpoint


async def _check_integration(session: AsyncSession, user_id: int) -> None:
    user = await session.get(User, user_id)
    if user is None or user.role is not Role.INTEGRATION:
        raise UnprocessableEntity(f"User {user_id} is not an integration.")


async def delete_webhook(session: AsyncSession, webhook_id: int) -> None:
    """Delete an endpoint. What was still to be sent is cancelled; the delivery history
    stays (detached from the endpoint), readable on each ticket's notifications."""
    endpoint = await get_webhook(session, webhook_id, for_update=True)
    now = datetime.now(UTC)
    await session.execute(
        update(NotificationDelivery)
        .where(
            NotificationDelivery.webhook_id == endpoint.id,
            NotificationDelivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING]),
        )
        .values(
            status=DeliveryStatus.CANCELLED,
            lease_expires_at=None,
            leased_by=None,
            last_error=f"webhook {endpoint.id} was deleted",
            updated_at=now,
        )
    )
    # The foreign key would cascade and erase the history: detach it first.
    await session.execute(
        update(NotificationDelivery)
        .where(NotificationDelivery.webhook_id == endpoint.id)
        .values(webhook_id=None)
    )
    await session.delete(endpoint)
    await session.flush()


async def rotate_secret(session: AsyncSession, webhook_id: int) -> WebhookEndpoint:
    """A new secret, used from the next attempt on (the old one stops working at once)."""
    endpoint = await get_webhook(session, webhook_id, for_update=True)
    endpoint.secret = new_secret()
    endpoint.updated_at = datetime.now(UTC)
    await session.flush()
    return endpoint


async def deliveries_of(
    session: AsyncSession,
    webhook_id: int,
    *,
    status: DeliveryStatus | None,
    before_id: int | None,
    limit: int,
) -> Sequence[NotificationDelivery]:
    """The endpoint's deliveries, newest first."""
    await get_webhook(session, webhook_id)
    query = (
        select(NotificationDelivery)
        .where(NotificationDelivery.webhook_id == webhook_id)
        .order_by(NotificationDelivery.id.desc())
        .limit(limit)
    )
    if status is not None:
        query = query.where(NotificationDelivery.status == status)
    if before_id is not None:
        query = query.where(NotificationDelivery.id < before_id)
    return (await session.scalars(query)).all()


async def redeliver(
    session: AsyncSession, webhook_id: int, delivery_id: int
) -> NotificationDelivery:
    """Send a finished delivery again: the same row, the same webhook-id (so the receiver
    can tell it is the same message), a fresh budget of attempts, due now."""
    endpoint = await get_webhook(session, webhook_id)
    delivery = await session.get(NotificationDelivery, delivery_id, with_for_update=True)
    if delivery is None or delivery.webhook_id != webhook_id:
        raise NotFound(f"Webhook {webhook_id} has no delivery {delivery_id}.")
    if delivery.status in (DeliveryStatus.PENDING, DeliveryStatus.SENDING):
        raise Conflict(
            f"Delivery {delivery_id} is {delivery.status.value}: it is still on its way."
        )
    if not endpoint.active:
        raise Conflict(f"Webhook {webhook_id} is disabled; enable it first (active: true).")
    return await send_again(session, delivery)
