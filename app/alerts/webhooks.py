"""Alerts posted to the webhook endpoints a rule names (`webhook_ids`).

Alerts are staff-only figures. An endpoint of the desk's own (no `integration_id`) is
the admins' to point where they like; an endpoint tied to an integration gets alerts
only while that integration may read the figures itself: it holds a working token with
the scope `metrics:read`. This is checked when a rule names the endpoint (422) and
again at every firing, since a token may have been revoked since.

The body the endpoint receives (Standard Webhooks, signed, retried by the outbox):

    {"type": "alert.fired" | "alert.resolved", "timestamp": "...", "data": {
        "event": {"kind", "alert_id", "created_at"},
        "alert": {"alert_id", "rule_id", "rule_name", "metric", "filter",
                  "window_minutes", "comparison", "threshold", "value"}}}

Written in the evaluator's transaction, like every outbox row: it leaves after commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scopes import TokenScope
from app.errors import UnprocessableEntity
from app.models import (
    ApiToken,
    DeliveryChannel,
    DeliveryStatus,
    NotificationDelivery,
    Role,
    User,
    WebhookEndpoint,
)

ALERT_ATTEMPTS = 10

# Integrations that may read the figures now: active, with a working metrics:read token.
_METRICS_READERS = (
    select(User.id)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(
        User.role == Role.INTEGRATION,
        User.active.is_(True),
        ApiToken.scopes.contains([TokenScope.METRICS_READ.value]),
        ApiToken.revoked_at.is_(None),
        or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > func.now()),
    )
)


async def _endpoints(
    session: AsyncSession, ids: Collection[int]
) -> dict[int, tuple[bool, int | None, bool]]:
    """Per endpoint named: whether it is active, its integration, whether that
    integration may read the figures."""
    rows = await session.execute(
        select(
            WebhookEndpoint.id,
            WebhookEndpoint.active,
            WebhookEndpoint.integration_id,
            WebhookEndpoint.integration_id.in_(_METRICS_READERS.scalar_subquery()),
        ).where(WebhookEndpoint.id.in_(list(ids)))
    )
    return {id_: (active, owner, bool(reads)) for id_, active, owner, reads in rows}


async def check_webhooks(session: AsyncSession, ids: list[int]) -> None:
    """422 unless every endpoint named exists, is active and may receive alerts."""
    if not ids:
        return
    found = await _endpoints(session, ids)
    problems = []
    missing = sorted(set(ids) - set(found))
    if missing:
        problems.append(f"no webhook {', '.join(map(str, missing))}")
    for id_, (active, owner, reads) in sorted(found.items()):
        if not active:
            problems.append(f"webhook {id_} is disabled (enable it first)")
        elif owner is not None and not reads:
            problems.append(
                f"webhook {id_} belongs to integration {owner}, which holds no token with "
                "the scope metrics:read (alerts are staff-only figures)"
            )
    if problems:
        raise UnprocessableEntity(
            f"These webhooks cannot receive alerts: {'; '.join(problems)}.",
            loc=("body", "webhook_ids"),
        )


async def enqueue_alert_webhooks(
    session: AsyncSession,
    webhook_ids: Collection[int],
    kind: str,
    alert: dict[str, Any],
    now: datetime,
) -> int:
    """One delivery per endpoint that may receive the alert now; how many. `now` is the
    evaluation's instant; the deliveries are due at once whatever it says."""
    if not webhook_ids:
        return 0
    found = await _endpoints(session, webhook_ids)
    targets = [
        id_
        for id_, (active, owner, reads) in sorted(found.items())
        if active and (owner is None or reads)
    ]
    payload = {
        "event": {"kind": kind, "alert_id": alert["alert_id"], "created_at": now.isoformat()},
        "alert": alert,
    }
    queued = datetime.now(UTC)
    rows: list[dict[str, Any]] = [
        {
            "ticket_id": None,
            "recipient_id": None,
            "webhook_id": endpoint_id,
            "channel": DeliveryChannel.WEBHOOK,
            "event_ids": [],
            "payload": payload,
            "status": DeliveryStatus.PENDING,
            "attempts": 0,
            "max_attempts": ALERT_ATTEMPTS,
            "next_attempt_at": queued,
            "idempotency_key": f"alert_{uuid.uuid4().hex}",
            "created_at": queued,
            "updated_at": queued,
        }
        for endpoint_id in targets
    ]
    if rows:
        await session.execute(insert(NotificationDelivery), rows)
    return len(rows)
