"""What each audience sees of an event and of a ticket: the one projection every channel
uses (REST, the WebSocket live and replay, email, SMS, webhooks).

Three audiences:

- staff (and a webhook trusted with `include_internal`) see every event with all its data;
- a customer sees the public events of their tickets, each narrowed to an allow-list of
  data keys (`SHAPES`);
- an outside system without `include_internal` sees exactly what a customer sees, never
  more.

The public projection is an allow-list, not a deny-list: a key a producer adds later
(a note, an absence reason, anything written for staff) stays inside until someone
adds it here on purpose. Every `EventKind` must have a shape (a test enumerates them),
and a kind recorded only for staff projects to nothing at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from app.events.kinds import EventKind
from app.models import User


class Audience(StrEnum):
    STAFF = "staff"  # admins, supervisors, agents; webhooks with include_internal
    PUBLIC = "public"  # customers; integrations and webhooks without include_internal


def audience_of(viewer: User) -> Audience:
    """Staff see everything; customers and integrations (REST, WebSocket) the public view."""
    return Audience.STAFF if viewer.role.is_staff else Audience.PUBLIC


Transform = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class EventShape:
    """The data keys of one kind a customer may see. `public` None: the kind is for staff
    only and projects to nothing. `optional` keys are left out when None (or absent);
    `transforms` narrow a nested value to its public part."""

    public: frozenset[str] | None
    optional: frozenset[str] = frozenset()
    transforms: Mapping[str, Transform] = field(default_factory=dict)

    @property
    def internal_only(self) -> bool:
        return self.public is None


STAFF_ONLY = EventShape(public=None)

# The customer is told that someone is away and until when, never why: every reason
# but "departed" (which they are told as "no longer available") becomes "away".
DEPARTED = "departed"


def _public_absence(value: Any) -> Any:
    if not isinstance(value, dict):
        return None
    until_day = value.get("until_day")
    return {
        "reason": DEPARTED if value.get("reason") == DEPARTED else "away",
        "until_day": until_day if isinstance(until_day, str) else None,
    }


def _public_ref(value: Any) -> Any:
    """A person or team reference: its id and name, nothing else it may carry."""
    if not isinstance(value, dict):
        return None
    return {"id": value.get("id"), "name": value.get("name")}


def _public_escalation(value: Any) -> Any:
    """Whom the case was escalated to (the customer is told the team), not the levels."""
    if not isinstance(value, dict):
        return None
    return {
        "from_team": _public_ref(value.get("from_team")),
        "to_team": _public_ref(value.get("to_team")),
    }


def _public_follow_up(value: Any) -> Any:
    if not isinstance(value, dict):
        return None
    return {"id": value.get("id"), "subject": value.get("subject")}


def _public_answer_time(value: Any) -> Any:
    """The answer time the customer was told (app/sla/notices.py), nothing more."""
    if not isinstance(value, dict):
        return None
    return {key: value.get(key) for key in _ANSWER_TIME_KEYS}


_ANSWER_TIME_KEYS = ("answer_by", "desk_opens_at", "around_the_clock", "time_zone")


def _keys(*names: str) -> frozenset[str]:
    return frozenset(names)


SHAPES: dict[EventKind, EventShape] = {
    # What was filed: not impact, priority or team (the desk's assessment), nor `quiet`.
    EventKind.TICKET_CREATED: EventShape(
        public=_keys(
            "subject",
            "channel",
            "urgency",
            "category",
            "requester",
            "attachments",
            "follow_up_of",
            "answer_time",
        ),
        optional=_keys("category", "attachments", "follow_up_of", "answer_time"),
        transforms={
            "requester": _public_ref,
            "follow_up_of": _public_follow_up,
            "answer_time": _public_answer_time,
        },
    ),
    # Staff edits (tags, impact, category, team): recorded internal.
    EventKind.TICKET_UPDATED: STAFF_ONLY,
    # The note with a status change is written to the requester (the pending question).
    EventKind.STATUS_CHANGED: EventShape(
        public=_keys("from", "to", "note"), optional=_keys("note")
    ),
    # Who handles the case and the public reason; never the handover note, nor why
    # someone is away, nor the escalation levels or the team an absence moved it to.
    EventKind.OWNER_CHANGED: EventShape(
        public=_keys("from", "to", "reason", "absence", "escalation"),
        optional=_keys("absence", "escalation"),
        transforms={
            "from": _public_ref,
            "to": _public_ref,
            "absence": _public_absence,
            "escalation": _public_escalation,
        },
    ),
    EventKind.PRIORITY_CHANGED: STAFF_ONLY,
    # Only public messages reach this projection (an internal note's event is internal).
    EventKind.MESSAGE_CREATED: EventShape(
        public=_keys(
            "message_id", "visibility", "author_role", "channel", "attachments", "automatic"
        ),
        optional=_keys("attachments", "automatic"),
    ),
    EventKind.SLA_WARNING: STAFF_ONLY,
    EventKind.SLA_BREACHED: STAFF_ONLY,
    # The clock's bookkeeping; the customer sees the due times move on the ticket.
    EventKind.SLA_PAUSED: STAFF_ONLY,
    EventKind.SLA_RESUMED: STAFF_ONLY,
    # The customer is told, once, that the time they were given will pass, and the new one.
    EventKind.SLA_DELAY_ANNOUNCED: EventShape(
        public=_keys("stated_answer_by", "answer_by", "time_zone")
    ),
    EventKind.FEEDBACK_RECEIVED: STAFF_ONLY,
    EventKind.FOLLOW_UP_OPENED: EventShape(
        public=_keys("follow_up"), transforms={"follow_up": _public_follow_up}
    ),
    EventKind.EMAIL_IGNORED: STAFF_ONLY,
    EventKind.EMAIL_BOUNCED: STAFF_ONLY,
    # Why staff merged two tickets (`note`) is written for staff.
    EventKind.TICKET_MERGED: EventShape(
        public=_keys("into_id", "merged_id", "from", "to", "same_requester"),
        optional=_keys("into_id", "merged_id", "from", "to"),
    ),
    EventKind.TICKET_LINKED: STAFF_ONLY,
    EventKind.TICKET_UNLINKED: STAFF_ONLY,
    EventKind.REQUESTER_CHANGED: STAFF_ONLY,
    # A text's STOP/START: the desk's bookkeeping of consent, not a step of the request.
    EventKind.SMS_CONSENT_CHANGED: STAFF_ONLY,
    # The call the customer was on; the recording and the agent's note are for staff.
    # Threshold alerts are about the desk, never shown outside it.
    EventKind.ALERT_FIRED: STAFF_ONLY,
    EventKind.ALERT_RESOLVED: STAFF_ONLY,
    EventKind.CALL_LOGGED: EventShape(
        public=_keys(
            "direction",
            "from",
            "to",
            "duration_seconds",
            "outcome",
            "started_at",
            "counts_as_contact",
        ),
    ),
}


def shape_of(kind: str) -> EventShape:
    """The kind's shape; an unknown kind (none should exist) is staff-only."""
    try:
        return SHAPES[EventKind(kind)]
    except (KeyError, ValueError):
        return STAFF_ONLY


def public_data(kind: str, data: Mapping[str, Any]) -> dict[str, Any] | None:
    """The event data a customer (or an outside system without include_internal) may see,
    or None when the kind is for staff only."""
    shape = shape_of(kind)
    if shape.public is None:
        return None
    out: dict[str, Any] = {}
    for key in sorted(shape.public):
        if key not in data:
            continue
        value = data[key]
        transform = shape.transforms.get(key)
        if transform is not None and value is not None:
            value = transform(value)
        if value is None and key in shape.optional:
            continue
        out[key] = value
    return out


def event_is_public(kind: str, visibility: str) -> bool:
    """Whether a customer may see the event at all: public, and of a kind with a shape."""
    return visibility == "public" and not shape_of(kind).internal_only


def project_data(
    kind: str, visibility: str, data: Mapping[str, Any], audience: Audience
) -> dict[str, Any] | None:
    """The event's data for `audience`, or None when the audience may not see the event."""
    if audience is Audience.STAFF:
        return dict(data)
    if not event_is_public(kind, visibility):
        return None
    return public_data(kind, data)


# -- the ticket ---------------------------------------------------------------------

# The fields of a ticket the customer sees (TicketOut): what they filed and what concerns
# them. The rest (tags, impact, priority, breach flags, problem link) is the desk's own
# assessment; an admin may show some of it (CUSTOMER_SHOWABLE_FIELDS, a setting).
PUBLIC_TICKET_KEYS = frozenset(
    {
        "id",
        "subject",
        "description",
        "status",
        "channel",
        "urgency",
        "category",
        "requester",
        "owner",
        "team",
        "external_ref",
        "follow_up_of",
        "version",
        "created_at",
        "updated_at",
        "first_response_at",
        "resolved_at",
        "last_action",
        "last_owner_change",
        "sla",
        "merged_into",
    }
)

# Staff-only ticket fields an admin may show customers (HELPDESK_CUSTOMER_VISIBLE_FIELDS).
# `sla_breached` and `sla_policy` are the `breached` flag and the `policy` inside `sla`;
# the due times and whether the clock is paused are always shown.
CUSTOMER_SHOWABLE_FIELDS = frozenset(
    {"tags", "impact", "priority", "sla_breached", "sla_policy", "problem_id"}
)

# The tickets columns whose change the customer sees: a trigger (migration
# 2026-12-06_customer_audience) moves `customer_version` and `customer_updated_at` only
# when one of them changes or a public event is recorded (last_public_event_id moves).
# While an admin shows staff-only fields, customers get the staff version instead.
CUSTOMER_VISIBLE_COLUMNS = (
    "subject",
    "description",
    "status",
    "channel",
    "urgency",
    "category",
    "requester_id",
    "owner_id",
    "team_id",
    "external_ref",
    "follow_up_of_id",
    "first_response_at",
    "resolved_at",
    "first_response_due_at",
    "next_response_due_at",
    "resolution_due_at",
    "sla_paused_since",
    "merged_into_id",
)


class TicketAudience:
    """Which staff-only ticket fields customers are shown (set once per process)."""

    shown: frozenset[str] = frozenset()


def configure(customer_visible_fields: frozenset[str]) -> None:
    TicketAudience.shown = customer_visible_fields & CUSTOMER_SHOWABLE_FIELDS


def customer_sees_only_public() -> bool:
    """Whether customers see no staff-only field (the default): then their ETag and
    updated_at are the customer's own (customer_version, customer_updated_at)."""
    return not TicketAudience.shown


def customer_sees(field_name: str) -> bool:
    """Whether a customer is shown a ticket field (a showable one only if an admin says)."""
    return field_name in PUBLIC_TICKET_KEYS or field_name in TicketAudience.shown
