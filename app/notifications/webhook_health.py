"""Keeping track of webhook endpoints that keep failing.

Every outcome of a webhook delivery is recorded on its endpoint, in the transaction
that records the delivery's outcome: a success clears `failing_since`; the first failure
sets it. An endpoint that has been failing continuously for longer than the window
(`HELPDESK_WEBHOOK_DISABLE_AFTER_HOURS`), or that answered 410 Gone, is disabled, and
every active admin is told. The disabling UPDATE only matches an endpoint still active,
so when two workers cross the line at once, one of them disables and tells. The admins
hear it under their own topic, `integrations`, which they can route (to sms, say)
apart from the ticket activity they follow.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Role, User, WebhookEndpoint
from app.notifications.channels.base import Outcome
from app.notifications.outbox import enqueue_personal_notice
from app.notifications.render import Block, register_renderer
from app.notifications.rules import NoticeTopic

WEBHOOK_DISABLED = "webhook.disabled"
GONE = "gone"
FAILING = "failing"


class HealthSettings:
    disable_after = timedelta(hours=72)


def configure(disable_after_hours: float) -> None:
    HealthSettings.disable_after = timedelta(hours=disable_after_hours)


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
    live: list[ColumnElement[bool]] = [
        WebhookEndpoint.id == endpoint_id,
        WebhookEndpoint.active.is_(True),
    ]
    if outcome.disable_endpoint:
        reason, why = GONE, "the receiver answered 410 Gone"
        condition = live
    else:
        await session.execute(
            update(WebhookEndpoint)
            .where(*live, WebhookEndpoint.failing_since.is_(None))
            .values(failing_since=now)
        )
        hours = HealthSettings.disable_after.total_seconds() / 3600
        reason, why = FAILING, f"every delivery failed for over {hours:g} hours"
        condition = [*live, WebhookEndpoint.failing_since <= now - HealthSettings.disable_after]
    disabled = (
        await session.execute(
            update(WebhookEndpoint)
            .where(*condition)
            .values(active=False, disabled_reason=why, updated_at=now)
            .returning(WebhookEndpoint.id, WebhookEndpoint.url, WebhookEndpoint.failing_since)
        )
    ).one_or_none()
    if disabled is not None:
        _id, url, failing_since = disabled
        await _tell_admins(session, endpoint_id, url, reason, failing_since)


async def _tell_admins(
    session: AsyncSession, endpoint_id: int, url: str, reason: str, since: datetime | None
) -> None:
    admins = await session.scalars(
        select(User.id).where(User.role == Role.ADMIN, User.active.is_(True)).order_by(User.id)
    )
    data = {
        "webhook_id": endpoint_id,
        "url": url,
        "reason": reason,
        "failing_since": since.isoformat() if since else None,
        "hours": HealthSettings.disable_after.total_seconds() / 3600,
    }
    for admin_id in list(admins):
        await enqueue_personal_notice(
            session, admin_id, NoticeTopic.INTEGRATIONS, kind=WEBHOOK_DISABLED, data=data
        )


_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "disabled": "Webhook #{webhook_id} ({url}) has been disabled: {reason}. Nothing more "
        "is sent to it. Once the receiver works again, re-enable it and redeliver what failed.",
        GONE: "the receiver answered 410 Gone, asking not to be called again",
        FAILING: "every delivery to it has failed for more than {hours:g} hours",
    },
    "it": {
        "disabled": "Il webhook #{webhook_id} ({url}) è stato disattivato: {reason}. Non gli "
        "viene più inviato nulla. Quando il destinatario funziona di nuovo, riattivalo e invia "
        "di nuovo ciò che non è arrivato.",
        GONE: "il destinatario ha risposto 410 Gone, chiedendo di non essere più chiamato",
        FAILING: "tutte le consegne falliscono da più di {hours:g} ore",
    },
}


def _render_disabled(
    notice: dict[str, Any], locale: str, _ticket_id: Any, _subject: str, _bodies: dict[int, str]
) -> list[Block]:
    words = _WORDS.get(locale, _WORDS["en"])
    data = notice.get("data") or {}
    hours = data.get("hours")
    reason = words.get(str(data.get("reason")), words[FAILING]).format(
        hours=hours if isinstance(hours, int | float) else 72
    )
    text = words["disabled"].format(
        webhook_id=data.get("webhook_id"), url=data.get("url"), reason=reason
    )
    return [Block(text)]


register_renderer(WEBHOOK_DISABLED, _render_disabled)
