"""How an alert reads in an email or an SMS."""

from __future__ import annotations

from typing import Any

from app.events.kinds import EventKind
from app.notifications.render import Block, register_renderer


def _alert(
    notice: dict[str, Any], _locale: str, _ticket_id: Any, _subject: str, _bodies: dict[int, str]
) -> list[Block]:
    data = notice.get("data") or {}
    fired = notice.get("kind") == EventKind.ALERT_FIRED
    state = "Alert" if fired else "Resolved"
    where = data.get("filter") or {}
    scope = f" ({where.get('dimension')} {where.get('value')})" if where else ""
    text = (
        f"{state}: {data.get('rule_name')}{scope}. {data.get('metric')} is "
        f"{data.get('value')} ({data.get('comparison')} {data.get('threshold')} is "
        f"{'crossed' if fired else 'no longer crossed'}) over the last "
        f"{data.get('window_minutes')} minutes."
    )
    return [Block(text)]


def register() -> None:
    register_renderer(EventKind.ALERT_FIRED, _alert)
    register_renderer(EventKind.ALERT_RESOLVED, _alert)
