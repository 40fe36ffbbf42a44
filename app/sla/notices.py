"""What the customer is told about service levels, whatever the channel: the answer
time in the acknowledgement of a new request, and the notice sent when that time is
about to pass unmet. Worded by app/sla/answer_time.py in the customer's language and
time zone; renderers registered with the outbox at start-up (app/wiring.py).

The acknowledgement's facts are worked out on the policy's calendar as the ticket is
filed and travel in its `ticket.created` data (`answer_time`: `answer_by`,
`desk_opens_at`, `around_the_clock`, `time_zone`), so the notice, written later by the
outbox, needs no calendar.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.events.kinds import EventKind
from app.notifications.render import Block, register_renderer
from app.notifications.templates import wording_for
from app.sla.answer_time import sentence
from app.sla.calendar import BusinessCalendar

ANSWER_TIME = "answer_time"
BREACH_ALERT_KIND = "sla.breach_alert"  # to supervisors, when a policy asks
UNOWNED_ALERT_KIND = "ticket.unowned_alert"  # to supervisors: nobody has taken it


def answer_time_data(
    calendar: BusinessCalendar, due: datetime, now: datetime, time_zone: str
) -> dict[str, Any]:
    opens_at = None
    if not calendar.always_open and not calendar.is_open(now):
        opening = calendar.next_opening(now)
        opens_at = opening.isoformat() if opening < due else None
    return {
        "answer_by": due.isoformat(),
        "desk_opens_at": opens_at,
        "around_the_clock": calendar.always_open,
        "time_zone": time_zone,
    }


def _at(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _stated(facts: Any, locale: str, *, delay: bool = False) -> str | None:
    if not isinstance(facts, dict) or (answer_by := _at(facts.get("answer_by"))) is None:
        return None
    zone = facts.get("time_zone")
    return sentence(
        answer_by,
        datetime.now(UTC),
        locale,
        zone if isinstance(zone, str) else "UTC",
        opens_at=_at(facts.get("desk_opens_at")),
        around_the_clock=facts.get("around_the_clock") is True,
        delay=delay,
    ).text


def _received(
    notice: dict[str, Any], locale: str, ticket_id: Any, subject: str, _bodies: dict[int, str]
) -> list[Block]:
    words = wording_for(locale)
    received = words["received"].format(ticket_id=ticket_id, subject=subject)
    stated = _stated((notice.get("data") or {}).get(ANSWER_TIME), locale)
    if stated is None:
        return [Block(received)]
    # "We will get back to you as soon as possible." gives way to the time itself.
    first_sentence = received.rsplit(". ", 1)[0] + "."
    return [Block(f"{first_sentence} {stated}")]


def _delay(
    notice: dict[str, Any], locale: str, _ticket_id: Any, _subject: str, _bodies: dict[int, str]
) -> list[Block]:
    data = notice.get("data") or {}
    stated = _stated(data, locale, delay=True)
    return [Block(stated or "")]


def _breach_alert(
    notice: dict[str, Any], _locale: str, ticket_id: Any, subject: str, _bodies: dict[int, str]
) -> list[Block]:
    data = notice.get("data") or {}
    target = str(data.get("target", "a")).replace("_", " ")
    return [
        Block(
            f"Ticket #{ticket_id} \u201c{subject}\u201d missed its {target} target "
            f"(due {data.get('due_at')}); its service level policy asks supervisors to look."
        )
    ]


def _unowned_alert(
    notice: dict[str, Any], _locale: str, ticket_id: Any, subject: str, _bodies: dict[int, str]
) -> list[Block]:
    minutes = (notice.get("data") or {}).get("minutes")
    return [
        Block(
            f"Ticket #{ticket_id} \u201c{subject}\u201d has waited {minutes} minutes and "
            "nobody has taken it yet."
        )
    ]


def register() -> None:
    register_renderer(UNOWNED_ALERT_KIND, _unowned_alert)
    register_renderer(BREACH_ALERT_KIND, _breach_alert)
    register_renderer(EventKind.TICKET_CREATED, _received)
    register_renderer(EventKind.SLA_DELAY_ANNOUNCED, _delay)
