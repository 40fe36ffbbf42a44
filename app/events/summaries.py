"""One plain-language line per event: `last_action.summary`, notifications, the brief."""

from __future__ import annotations

from typing import Any

from app.events.kinds import EventKind

_REASONS = {
    "routing": "routed",
    "escalation": "escalated",
    "unavailability": "previous contact unavailable",
    "rebalancing": "workload rebalanced",
    "manual": "reassigned",
}


def _name(value: Any, fallback: str = "someone") -> str:
    name = value.get("name") if isinstance(value, dict) else None
    return name if isinstance(name, str) else fallback


def summarize(kind: str, data: dict[str, Any], actor_name: str | None) -> str:
    who = actor_name or "The system"
    match kind:
        case EventKind.TICKET_CREATED:
            return f"Request received from {who}"
        case EventKind.TICKET_UPDATED:
            fields = ", ".join(sorted(data.get("changes", {})))
            return f"{who} updated {fields or 'the ticket'}"
        case EventKind.STATUS_CHANGED:
            return f"Status changed from {data.get('from')} to {data.get('to')}"
        case EventKind.OWNER_CHANGED:
            reason = _REASONS.get(str(data.get("reason")), str(data.get("reason")))
            if data.get("to") is None:
                return f"Returned to the team queue ({reason})"
            return f"{_name(data.get('to'))} is now handling this request ({reason})"
        case EventKind.PRIORITY_CHANGED:
            return f"Priority changed from {data.get('from')} to {data.get('to')}"
        case EventKind.MESSAGE_CREATED:
            if data.get("visibility") == "internal":
                return f"Internal note by {who}"
            if data.get("author_role") in ("customer", "integration"):
                return f"Message from {who}"
            return f"Reply from {who}"
        case _:
            return kind.replace(".", " ").replace("_", " ").capitalize()
