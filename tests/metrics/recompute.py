"""Every KPI recomputed from the raw timeline, written apart from app/metrics/facts.py:
a plain walk over each ticket's events, no rollups, no shared code but the definitions
of the percentiles (the histogram binning is part of what "median" means here) and
the business calendar (what "business time" means).

Durations count business time on the calendar of the ticket's SLA policy in force when
they end: `ticket.created` names the policy (a ticket filed before it did: its policy
now), a `ticket.updated` changing `sla_policy_id` moves it; 24/7 or none: wall-clock."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.metrics.definitions import Durations
from app.models import BusinessCalendarRow, SlaPolicy, Ticket, TicketEvent
from app.sla.calendar import BusinessCalendar, compile_calendar
from app.sla.calendar_schemas import calendar_spec

OPEN = {"new", "open", "pending"}
STAFF = {"agent", "supervisor", "admin"}


@dataclass
class Recount:
    created: int = 0
    resolved: int = 0
    first_resolved: int = 0
    fcr: int = 0
    reopened: int = 0
    reopens: int = 0
    surveys: int = 0
    csat_answered: int = 0
    csat_positive: int = 0
    sla_ok: int = 0
    breaches: int = 0
    handovers: int = 0
    complaints: int = 0
    suggestions: int = 0
    backlog: int = 0
    frt: list[int] = field(default_factory=list)
    nrt: list[int] = field(default_factory=list)
    ttr: list[int] = field(default_factory=list)
    handled: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    handovers_by_reason: dict[str, int] = field(default_factory=lambda: defaultdict(int))


Secs = Callable[[int | None, datetime, datetime], int]


def _wall(a: datetime, b: datetime) -> int:
    return max(0, int((b - a).total_seconds()))


async def _business_secs(session: AsyncSession) -> Secs:
    rows = await session.execute(
        select(SlaPolicy.id, BusinessCalendarRow).join(
            BusinessCalendarRow, BusinessCalendarRow.id == SlaPolicy.calendar_id
        )
    )
    calendars: dict[int, BusinessCalendar] = {
        policy: compile_calendar(
            calendar_spec(row.time_zone, row.always_open, row.hours, row.holidays)
        )
        for policy, row in rows
    }

    def secs(policy: int | None, a: datetime, b: datetime) -> int:
        calendar = calendars.get(policy) if policy is not None else None
        if calendar is None or calendar.always_open or b <= a:
            return _wall(a, b)
        return calendar.business_time_between(a, b) // timedelta(seconds=1)

    return secs


async def recount(session: AsyncSession) -> Recount:
    events = (await session.scalars(select(TicketEvent).order_by(TicketEvent.id))).all()
    by_ticket: dict[int, list[TicketEvent]] = defaultdict(list)
    for event in events:
        by_ticket[event.ticket_id].append(event)
    policies = dict((await session.execute(select(Ticket.id, Ticket.sla_policy_id))).all())
    secs = await _business_secs(session)
    r = Recount()
    for ticket_id, timeline in by_ticket.items():
        _walk(r, timeline, policies.get(ticket_id), secs)
    return r


def _walk(r: Recount, timeline: list[TicketEvent], policy_now: int | None, secs: Secs) -> None:
    created = timeline[0]
    assert created.kind == "ticket.created"
    r.created += 1
    start = created.created_at
    policy = created.data.get("sla_policy_id", policy_now)

    def _secs(a: datetime, b: datetime) -> int:
        return secs(policy, a, b)

    status = "new"
    owner: int | None = None
    replies = 0
    breached = False
    first_resolution_seen = False
    reopened = False
    responded = False
    waiting: datetime | None = start
    for e in timeline[1:]:
        d: dict[str, Any] = e.data
        if e.kind == "ticket.updated" and "sla_policy_id" in (d.get("changes") or {}):
            policy = d["changes"]["sla_policy_id"]["to"]
        if e.kind == "ticket.owner_changed":
            to = (d.get("to") or {}).get("id")
            if owner is not None and to != owner:
                r.handovers += 1
                r.handovers_by_reason[d.get("reason") or "unknown"] += 1
            owner = to
        elif e.kind == "message.created" and d.get("visibility") == "public":
            if d.get("author_role") in STAFF:
                replies += 1
                if not responded:
                    responded = True
                    r.frt.append(_secs(start, e.created_at))
                elif waiting is not None:
                    r.nrt.append(_secs(waiting, e.created_at))
                waiting = None
            elif waiting is None:
                waiting = e.created_at
        elif e.kind == "ticket.status_changed":
            before, after = d["from"], d["to"]
            status = after
            if after == "resolved" and before != "resolved":
                r.resolved += 1
                if e.actor_id is not None:
                    r.surveys += 1
                if owner is not None:
                    r.handled[owner] += 1
                if not first_resolution_seen:
                    first_resolution_seen = True
                    r.first_resolved += 1
                    r.ttr.append(_secs(start, e.created_at))
                    r.sla_ok += 0 if breached else 1
            if before in {"resolved", "closed"} and after in OPEN:
                r.reopens += 1
                reopened = True
        elif e.kind == "sla.breached":
            breached = True
            r.breaches += 1
        elif e.kind == "feedback.received":
            if d.get("source") == "survey":
                r.csat_answered += 1
                r.csat_positive += 1 if d["rating"] >= 4 else 0
            elif d.get("kind") == "complaint":
                r.complaints += 1
            elif d.get("kind") == "suggestion":
                r.suggestions += 1
    if first_resolution_seen and not reopened and replies <= 1:
        r.fcr += 1
    if first_resolution_seen and reopened:
        r.reopened += 1
    if status in OPEN:
        r.backlog += 1


def stats(values: list[int]) -> dict[str, Any]:
    d = Durations.of_values(values)
    return {"count": d.count, "mean": d.mean, "median": d.median, "p90": d.p90}
