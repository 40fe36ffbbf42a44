"""One plain-language line per event: `last_action.summary`, notifications, the brief."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

from app.common.dates import format_day
from app.events.kinds import EventKind

_REASONS = {
    "routing": "routed",
    "escalation": "escalated",
    "unavailability": "previous contact unavailable",
    "rebalancing": "workload rebalanced",
    "manual": "reassigned",
    "hand_back": "back from absence",
}


def _name(value: Any, fallback: str = "someone") -> str:
    name = value.get("name") if isinstance(value, dict) else None
    return name if isinstance(name, str) else fallback


def _id(value: Any) -> str:
    found = value.get("id") if isinstance(value, dict) else None
    return str(found) if isinstance(found, int) else "?"


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
            told = _owner_sentence(data)
            if told is not None:
                return told
            reason = _REASONS.get(str(data.get("reason")), str(data.get("reason")))
            if data.get("to") is None:
                return f"Returned to the team queue ({reason})"
            return f"{_name(data.get('to'))} is now handling this request ({reason})"
        case EventKind.PRIORITY_CHANGED:
            return f"Priority changed from {data.get('from')} to {data.get('to')}"
        case EventKind.SLA_WARNING | EventKind.SLA_BREACHED:
            return _sla_sentence(kind, data)
        case EventKind.FOLLOW_UP_OPENED:
            return f"Follow-up request #{_id(data.get('follow_up'))} opened by {who}"
        case EventKind.EMAIL_IGNORED:
            return f"Email ignored: {data.get('reason') or 'not recorded'}"
        case EventKind.EMAIL_BOUNCED:
            return f"Email to {data.get('address') or 'the recipient'} bounced"
        case EventKind.MESSAGE_CREATED:
            if data.get("automatic"):
                return f"Automatic reply from {who}"
            if data.get("visibility") == "internal":
                return f"Internal note by {who}"
            if data.get("author_role") in ("customer", "integration"):
                return f"Message from {who}"
            return f"Reply from {who}"
        case EventKind.TICKET_MERGED:
            if data.get("into_id") is not None:
                return f"Merged into #{data['into_id']}"
            return f"#{data.get('merged_id')} was merged into this request"
        case EventKind.TICKET_LINKED | EventKind.TICKET_UNLINKED:
            verb = "Linked to" if kind == EventKind.TICKET_LINKED else "Unlinked from"
            if data.get("problem_id") is not None:
                return f"{verb} problem #{data['problem_id']}"
            return f"{verb} incident #{data.get('incident_id')}"
        case _:
            return kind.replace(".", " ").replace("_", " ").capitalize()


_SLA_TARGETS = {"first_response": "First response", "resolution": "Resolution"}


def _sla_sentence(kind: str, data: dict[str, Any]) -> str:
    target = _SLA_TARGETS.get(str(data.get("target")), "A target")
    due = data.get("due_at")
    when = ""
    if isinstance(due, str):
        with contextlib.suppress(ValueError):
            when = " " + datetime.fromisoformat(due).astimezone(UTC).strftime("%d %b %H:%M UTC")
    if kind == EventKind.SLA_BREACHED:
        return f"{target} target missed (due{when})"
    return f"{target} due soon (by{when})" if when else f"{target} due soon"


def _owner_sentence(data: dict[str, Any]) -> str | None:
    """Handovers and escalations in the words the customer was told (never why someone
    is away)."""
    to = _name(data.get("to")) if data.get("to") else None
    absence = data.get("absence")
    if data.get("reason") == "unavailability" and isinstance(absence, dict):
        previous = _name(data.get("from"))
        if absence.get("reason") == "departed":
            why = f"{previous} is no longer available"
        elif isinstance(absence.get("until_day"), str):
            day = format_day(absence["until_day"], this_year=datetime.now(UTC).year)
            why = f"{previous} is away until {day}"
        else:
            why = f"{previous} is away for a while"
        return f"{why}; {to} is now handling this request" if to else f"{why}; back in the queue"
    if data.get("reason") == "hand_back" and to:
        return f"{to} is back and handling this request again"
    escalation = data.get("escalation")
    if data.get("reason") == "escalation" and isinstance(escalation, dict):
        team = escalation.get("to_team")
        where = f"Escalated to {_name(team)}" if isinstance(team, dict) else "Escalated"
        return f"{where}; {to} is now handling this request" if to else f"{where}; in its queue"
    return None
