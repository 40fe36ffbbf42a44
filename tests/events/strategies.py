"""Hypothesis strategies: events of every kind with every field the producers write filled.

Each kind's data is built from three parts: the keys the public projection allows (with
values of the types the producers write), the keys its producers write for staff only,
and keys nobody has thought of yet. Everything written for staff carries `SECRET` in
its value, so a test can look for it in whatever a channel produced.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from hypothesis import strategies as st

from app.events.kinds import EventKind
from app.models import AbsenceReason

SECRET = "ZZSECRET"

JSON = dict[str, Any]

# Readable text without the marker (a public value may show in a mail).
_words = st.text(
    alphabet=st.characters(codec="utf-8", categories=("L", "N", "Zs", "P")),
    min_size=1,
    max_size=40,
).filter(lambda s: SECRET.lower() not in s.lower() and s.strip() != "")
secrets = st.builds(lambda s: f"{SECRET} {s}", _words)
ids = st.integers(min_value=1, max_value=2**31)
instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
).map(datetime.isoformat)
zones = st.sampled_from(["UTC", "Europe/Rome", "Asia/Tokyo", "America/New_York"])
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)).map(date.isoformat)


def _with_secret_key(base: st.SearchStrategy[JSON]) -> st.SearchStrategy[JSON]:
    """A nested object that also carries a field written for staff."""
    return st.builds(lambda value, secret: {**value, "internal": secret}, base, secrets)


people = _with_secret_key(st.fixed_dictionaries({"id": ids, "name": _words}))
teams = people
statuses = st.sampled_from(["new", "open", "pending", "resolved", "closed"])
levels = st.sampled_from(["low", "medium", "high"])
channels = st.sampled_from(["web", "email", "phone", "chat", "api"])
attachments = st.lists(
    st.fixed_dictionaries({"id": ids, "filename": _words, "size": ids}), min_size=1, max_size=2
)
follow_ups = _with_secret_key(st.fixed_dictionaries({"id": ids, "subject": _words}))
# Why someone is away: every real reason (health data among them), and ones to come.
absence_reasons = st.one_of(
    st.sampled_from([r.value for r in AbsenceReason]), st.just("departed"), secrets
)
absences = st.fixed_dictionaries(
    {
        "id": ids,
        "reason": absence_reasons,
        "until": days.map(lambda d: d + "T17:00:00+00:00"),
        "until_day": days,
        "internal": secrets,
    }
)
escalations = st.fixed_dictionaries(
    {
        "from_team": teams,
        "to_team": teams,
        "level": st.fixed_dictionaries({"from": secrets, "to": secrets}),
        "internal": secrets,
    }
)

# The public keys of each kind, filled (the keys must be exactly SHAPES' allow-list; a
# test checks the two agree).
PUBLIC_VALUES: dict[EventKind, dict[str, st.SearchStrategy[Any]]] = {
    EventKind.TICKET_CREATED: {
        "subject": _words,
        "channel": channels,
        "urgency": levels,
        "category": _words,
        "requester": people,
        "attachments": attachments,
        "follow_up_of": follow_ups,
        "answer_time": _with_secret_key(
            st.fixed_dictionaries(
                {
                    "answer_by": instants,
                    "desk_opens_at": st.one_of(st.none(), instants),
                    "around_the_clock": st.booleans(),
                    "time_zone": zones,
                }
            )
        ),
    },
    EventKind.STATUS_CHANGED: {"from": statuses, "to": statuses, "note": _words},
    EventKind.OWNER_CHANGED: {
        "from": people,
        "to": people,
        "reason": st.sampled_from(
            ["routing", "escalation", "unavailability", "rebalancing", "manual", "hand_back"]
        ),
        "absence": absences,
        "escalation": escalations,
    },
    EventKind.MESSAGE_CREATED: {
        "message_id": ids,
        "visibility": st.just("public"),
        "author_role": st.sampled_from(["customer", "agent", "supervisor", "integration"]),
        "channel": channels,
        "attachments": attachments,
        "automatic": st.booleans(),
    },
    EventKind.FOLLOW_UP_OPENED: {"follow_up": follow_ups},
    EventKind.TICKET_MERGED: {
        "into_id": ids,
        "merged_id": ids,
        "from": statuses,
        "to": statuses,
        "same_requester": st.booleans(),
    },
    EventKind.SLA_DELAY_ANNOUNCED: {
        "stated_answer_by": instants,
        "answer_by": instants,
        "time_zone": zones,
    },
    EventKind.CALL_LOGGED: {
        "direction": st.sampled_from(["inbound", "outbound"]),
        "from": _words,
        "to": _words,
        "duration_seconds": st.integers(min_value=0, max_value=86_400),
        "outcome": st.sampled_from(["answered", "missed", "voicemail"]),
        "started_at": _words,
        "counts_as_contact": st.booleans(),
    },
}

# What the producers write for staff only, per kind (app/tickets/filing.py,
# app/continuity/, app/merging/service.py, app/inbound/...): all of it secret here.
STAFF_KEYS: dict[EventKind, tuple[str, ...]] = {
    # `imported` and `external_id`: history brought in from another helpdesk (app/imports).
    EventKind.TICKET_CREATED: (
        "impact",
        "priority",
        "team_id",
        "quiet",
        "imported",
        "external_id",
        "sla_policy_id",
    ),
    EventKind.TICKET_UPDATED: ("changes", "reason"),
    EventKind.STATUS_CHANGED: (),
    EventKind.OWNER_CHANGED: ("note", "team_id"),
    EventKind.PRIORITY_CHANGED: ("from", "to"),
    EventKind.MESSAGE_CREATED: ("quiet",),
    EventKind.SLA_WARNING: ("target", "due_at", "priority"),
    EventKind.SLA_BREACHED: ("target", "due_at", "priority", "on_breach"),
    EventKind.SLA_PAUSED: ("paused_since",),
    EventKind.SLA_RESUMED: (
        "paused_since",
        "paused_seconds",
        "first_response_due_at",
        "next_response_due_at",
        "resolution_due_at",
    ),
    EventKind.SLA_DELAY_ANNOUNCED: (),
    EventKind.FEEDBACK_RECEIVED: ("source", "rating", "comment", "low", "owner", "team_id"),
    EventKind.FOLLOW_UP_OPENED: ("quiet",),
    EventKind.EMAIL_IGNORED: ("reason", "quiet"),
    EventKind.EMAIL_BOUNCED: ("address", "diagnostic", "recipient", "status"),
    EventKind.TICKET_MERGED: ("note",),
    EventKind.TICKET_LINKED: ("problem_id", "incident_id"),
    EventKind.TICKET_UNLINKED: ("problem_id", "incident_id"),
    EventKind.REQUESTER_CHANGED: ("from", "to", "reason"),
    EventKind.SMS_CONSENT_CHANGED: ("consent", "keyword", "phone", "quiet"),
    EventKind.CALL_LOGGED: ("recording_url", "note"),
    EventKind.ALERT_FIRED: (
        "alert_id",
        "rule_id",
        "rule_name",
        "metric",
        "filter",
        "window_minutes",
        "comparison",
        "threshold",
        "value",
    ),
    EventKind.ALERT_RESOLVED: (
        "alert_id",
        "rule_id",
        "rule_name",
        "metric",
        "filter",
        "window_minutes",
        "comparison",
        "threshold",
        "value",
    ),
}

# Keys a producer may add tomorrow: a deny-list would let them out, an allow-list not.
_unknown_keys = st.dictionaries(
    st.from_regex(r"\Azz_[a-z]{1,8}\Z"), secrets, min_size=1, max_size=3
)


def event_data(kind: EventKind) -> st.SearchStrategy[JSON]:
    """The data of a `kind` event with every field filled (never None)."""
    public = st.fixed_dictionaries(PUBLIC_VALUES.get(kind, {}))
    staff = st.fixed_dictionaries({key: secrets for key in STAFF_KEYS[kind]})

    def merged(p: JSON, s: JSON, u: JSON) -> JSON:
        return {**u, **s, **p}  # a public key's value wins over a secret of the same name

    return st.builds(merged, public, staff, _unknown_keys)


kinds = st.sampled_from(list(EventKind))


@st.composite
def events(draw: st.DrawFn) -> tuple[EventKind, JSON]:
    kind = draw(kinds)
    return kind, draw(event_data(kind))
