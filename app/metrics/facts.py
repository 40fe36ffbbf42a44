"""Folding a ticket's events into its facts and the rollup deltas they cause.

Pure: no I/O. The reaction (app/metrics/reactions.py) loads each ticket's facts, feeds
its new events here in order and writes the facts and the deltas back. Durations are
counted by the `elapsed` it passes: business time on the calendar of the ticket's
policy (app/metrics/business_time.py). The meaning of
every count is in app/metrics/definitions.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from app.metrics.definitions import (
    CLOSED_STATUSES,
    FCR_MAX_REPLIES,
    OPEN_STATUSES,
    POSITIVE_RATING,
    STAFF_AUTHOR_ROLES,
    bin_of,
)


@dataclass(frozen=True, slots=True)
class Dims:
    """What a count is attributed to: the ticket's dimensions at that moment."""

    team: int | None
    agent: int | None
    channel: str
    category: str | None
    priority: str
    tags: tuple[str, ...]


@dataclass(slots=True)
class Facts:
    """One ticket as the metrics see it (the `metric_ticket_facts` row)."""

    ticket_id: int
    created_at: datetime
    dims: Dims
    status: str
    first_response_at: datetime | None = None
    first_resolved_at: datetime | None = None
    reopens: int = 0
    agent_replies: int = 0
    awaiting_since: datetime | None = None
    breached: bool = False
    fcr_counted: bool = False
    resolution_dims: Dims | None = None  # as of the first resolution
    imported: bool = False
    policy_id: int | None = None  # the SLA policy in force: whose calendar times count on


@dataclass(slots=True)
class Delta:
    """Counts to add at an instant, for a set of dimensions (`sub`: a breakdown key)."""

    at: datetime
    dims: Dims
    counts: dict[str, int] = field(default_factory=dict)
    times: dict[str, int] = field(default_factory=dict)  # frt/nrt/ttr -> seconds
    sub: str = ""


# Seconds from start to end for a ticket under an SLA policy (None: none): business
# seconds on the policy's calendar, wall-clock seconds around the clock. Whole seconds,
# rounded down, never negative.
Elapsed = Callable[[int | None, datetime, datetime], int]


def wall_clock(_: int | None, start: datetime, end: datetime) -> int:
    return max(0, int((end - start).total_seconds()))


def _policy(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def file(
    ticket_id: int, at: datetime, data: dict[str, Any], status: str, tags: tuple[str, ...]
) -> tuple[Facts, list[Delta]]:
    """A new ticket's facts, from its `ticket.created` event."""
    team = data.get("team_id")
    dims = Dims(
        team=team if isinstance(team, int) else None,
        agent=None,
        channel=str(data.get("channel") or ""),
        category=_text(data.get("category")),
        priority=str(data.get("priority") or ""),
        tags=tags,
    )
    facts = Facts(
        ticket_id,
        at,
        dims,
        status,
        awaiting_since=at,
        imported=bool(data.get("imported")),
        policy_id=_policy(data.get("sla_policy_id")),
    )
    counts = {"created": 1, "open_delta": 1 if status in OPEN_STATUSES else 0}
    return facts, [Delta(at, dims, counts)]


def apply(
    facts: Facts,
    kind: str,
    at: datetime,
    data: dict[str, Any],
    actor_id: int | None,
    elapsed: Elapsed = wall_clock,
) -> list[Delta]:
    """The deltas one event of the ticket causes; `facts` is updated in place. A
    duration is counted by `elapsed` under the policy in force when it ends."""
    handler = _HANDLERS.get(kind)
    if handler is None:
        return []
    deltas = handler(facts, at, data, actor_id, elapsed)
    deltas.extend(_recheck_fcr(facts))
    return deltas


def _move(facts: Facts, at: datetime, dims: Dims) -> list[Delta]:
    """The ticket's dimensions change: an open ticket moves its backlog count along."""
    old, facts.dims = facts.dims, dims
    if old == dims or facts.status not in OPEN_STATUSES:
        return []
    return [Delta(at, old, {"open_delta": -1}), Delta(at, dims, {"open_delta": 1})]


def _owner_changed(
    facts: Facts, at: datetime, data: dict[str, Any], _: int | None, __: Elapsed
) -> list[Delta]:
    to = data.get("to")
    new_owner = to.get("id") if isinstance(to, dict) else None
    new_owner = new_owner if isinstance(new_owner, int) else None
    deltas: list[Delta] = []
    old = facts.dims
    if old.agent is not None and new_owner != old.agent:
        reason = str(data.get("reason") or "unknown")
        deltas.append(Delta(at, old, {"handovers": 1}))
        deltas.append(Delta(at, old, {"handovers": 1}, sub=f"handover:{reason}"))
    deltas.extend(_move(facts, at, replace(old, agent=new_owner)))
    return deltas


def _updated(
    facts: Facts, at: datetime, data: dict[str, Any], _: int | None, __: Elapsed
) -> list[Delta]:
    changes = data.get("changes")
    if not isinstance(changes, dict):
        return []
    if isinstance(changes.get("sla_policy_id"), dict):  # the SLA moved it to another policy
        facts.policy_id = _policy(changes["sla_policy_id"].get("to"))
    dims = facts.dims
    if "team_id" in changes:
        team = changes["team_id"].get("to")
        dims = replace(dims, team=team if isinstance(team, int) else None)
    if "category" in changes:
        dims = replace(dims, category=_text(changes["category"].get("to")))
    if "tags" in changes:
        tags = changes["tags"].get("to")
        dims = replace(dims, tags=tuple(str(t) for t in tags) if isinstance(tags, list) else ())
    return _move(facts, at, dims)


def _priority_changed(
    facts: Facts, at: datetime, data: dict[str, Any], _: int | None, __: Elapsed
) -> list[Delta]:
    return _move(facts, at, replace(facts.dims, priority=str(data.get("to") or "")))


def _status_changed(
    facts: Facts, at: datetime, data: dict[str, Any], actor_id: int | None, elapsed: Elapsed
) -> list[Delta]:
    before, after = str(data.get("from")), str(data.get("to"))
    facts.status = after
    dims = facts.dims
    counts: dict[str, int] = {}
    deltas: list[Delta] = []
    if (before in OPEN_STATUSES) != (after in OPEN_STATUSES):
        counts["open_delta"] = 1 if after in OPEN_STATUSES else -1
    if after == "resolved" and before != "resolved":
        counts["resolved"] = 1
        if actor_id is not None:
            counts["surveys"] = 1
        if facts.first_resolved_at is None:
            facts.first_resolved_at = at
            facts.resolution_dims = dims
            counts["first_resolved"] = 1
            counts["sla_ok"] = 0 if facts.breached else 1
            deltas.append(
                Delta(at, dims, counts, {"ttr": elapsed(facts.policy_id, facts.created_at, at)})
            )
            return deltas
    if before in CLOSED_STATUSES and after in OPEN_STATUSES:
        counts["reopens"] = 1
        facts.reopens += 1
        if facts.reopens == 1 and facts.first_resolved_at is not None:
            assert facts.resolution_dims is not None
            deltas.append(Delta(facts.first_resolved_at, facts.resolution_dims, {"reopened": 1}))
    if counts:
        deltas.append(Delta(at, dims, counts))
    return deltas


def _message(
    facts: Facts, at: datetime, data: dict[str, Any], _: int | None, elapsed: Elapsed
) -> list[Delta]:
    if data.get("visibility") != "public":
        return []
    if data.get("author_role") not in STAFF_AUTHOR_ROLES:
        if facts.awaiting_since is None:
            facts.awaiting_since = at
        return []
    facts.agent_replies += 1
    waiting, facts.awaiting_since = facts.awaiting_since, None
    if facts.first_response_at is None:
        facts.first_response_at = at
        return [
            Delta(at, facts.dims, times={"frt": elapsed(facts.policy_id, facts.created_at, at)})
        ]
    if waiting is not None:
        return [Delta(at, facts.dims, times={"nrt": elapsed(facts.policy_id, waiting, at)})]
    return []


def _breached(
    facts: Facts, at: datetime, _: dict[str, Any], __: int | None, ___: Elapsed
) -> list[Delta]:
    facts.breached = True
    return [Delta(at, facts.dims, {"breaches": 1})]


def _feedback(
    facts: Facts, at: datetime, data: dict[str, Any], _: int | None, __: Elapsed
) -> list[Delta]:
    if data.get("source") == "survey":
        rating = data.get("rating")
        positive = 1 if isinstance(rating, int) and rating >= POSITIVE_RATING else 0
        return [Delta(at, facts.dims, {"csat_answered": 1, "csat_positive": positive})]
    kind = data.get("kind")
    if kind not in ("complaint", "suggestion"):
        return []
    counter = "complaints" if kind == "complaint" else "suggestions"
    category = facts.dims.category or ""
    return [
        Delta(at, facts.dims, {counter: 1}),
        Delta(at, facts.dims, {counter: 1}, sub=f"{kind}:{category}"),
    ]


def _recheck_fcr(facts: Facts) -> list[Delta]:
    """FCR is decided at first resolution and undone by a later reply or a reopening:
    the change is counted in the hour of the first resolution."""
    now = (
        facts.first_resolved_at is not None
        and facts.reopens == 0
        and facts.agent_replies <= FCR_MAX_REPLIES
    )
    if now == facts.fcr_counted:
        return []
    facts.fcr_counted = now
    assert facts.first_resolved_at is not None
    assert facts.resolution_dims is not None
    return [Delta(facts.first_resolved_at, facts.resolution_dims, {"fcr": 1 if now else -1})]


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


_HANDLERS = {
    "ticket.owner_changed": _owner_changed,
    "ticket.updated": _updated,
    "ticket.priority_changed": _priority_changed,
    "ticket.status_changed": _status_changed,
    "message.created": _message,
    "sla.breached": _breached,
    "feedback.received": _feedback,
}

# Every kind the fold reads: the filing and the kinds that move a figure.
FOLDED_KINDS = frozenset({"ticket.created", *_HANDLERS})

__all__ = [
    "FOLDED_KINDS",
    "Delta",
    "Dims",
    "Elapsed",
    "Facts",
    "apply",
    "bin_of",
    "file",
    "wall_clock",
]
