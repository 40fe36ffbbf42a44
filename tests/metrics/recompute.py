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
    complaints_by_category: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    suggestions_by_category: dict[str, int] = field(default_factory=lambda: defaultdict(int))


Secs = Callable[[int | None, datetime, datetime], int]


def _wall(a: datetime, b: datetime) -> int:
    return max(0, int((b - a).total_seconds()))


Key = int | None


@dataclass
class Recounts:
    """The same counts for the whole desk, per team and per agent: each one attributed
    to the ticket's team and owner at the moment that decides it (FCR, reopened and
    time to resolve to the moment of the first resolution)."""

    total: Recount = field(default_factory=Recount)
    teams: dict[Key, Recount] = field(default_factory=lambda: defaultdict(Recount))
    agents: dict[Key, Recount] = field(default_factory=lambda: defaultdict(Recount))

    def at(self, team: Key, owner: Key) -> list[Recount]:
        return [self.total, self.teams[team], self.agents[owner]]

    def add(self, team: Key, owner: Key, name: str, n: int = 1) -> None:
        for r in self.at(team, owner):
            setattr(r, name, getattr(r, name) + n)

    def time(self, team: Key, owner: Key, name: str, seconds: int) -> None:
        for r in self.at(team, owner):
            getattr(r, name).append(seconds)


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
    return (await recount_by(session)).total


async def recount_by(session: AsyncSession) -> Recounts:
    events = (await session.scalars(select(TicketEvent).order_by(TicketEvent.id))).all()
    by_ticket: dict[int, list[TicketEvent]] = defaultdict(list)
    for event in events:
        by_ticket[event.ticket_id].append(event)
    policies = dict((await session.execute(select(Ticket.id, Ticket.sla_policy_id))).all())
    secs = await _business_secs(session)
    r = Recounts()
    for ticket_id, timeline in by_ticket.items():
        _walk(r, timeline, policies.get(ticket_id), secs)
    return r


def _walk(r: Recounts, timeline: list[TicketEvent], policy_now: int | None, secs: Secs) -> None:
    created = timeline[0]
    assert created.kind == "ticket.created"
    team: Key = created.data.get("team_id")
    owner: Key = None
    category = created.data.get("category") or ""
    r.add(team, owner, "created")
    start = created.created_at
    policy = created.data.get("sla_policy_id", policy_now)

    def _secs(a: datetime, b: datetime) -> int:
        return secs(policy, a, b)

    status = "new"
    replies = 0
    breached = False
    first_resolution: tuple[Key, Key] | None = None
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
                r.add(team, owner, "handovers")
                for one in r.at(team, owner):
                    one.handovers_by_reason[d.get("reason") or "unknown"] += 1
            owner = to
        elif e.kind == "ticket.updated":
            changes = d.get("changes") or {}
            if "team_id" in changes:
                team = changes["team_id"].get("to")
            if "category" in changes:
                category = changes["category"].get("to") or ""
        elif e.kind == "message.created" and d.get("visibility") == "public":
            if d.get("author_role") in STAFF:
                replies += 1
                if not responded:
                    responded = True
                    r.time(team, owner, "frt", _secs(start, e.created_at))
                elif waiting is not None:
                    r.time(team, owner, "nrt", _secs(waiting, e.created_at))
                waiting = None
            elif waiting is None:
                waiting = e.created_at
        elif e.kind == "ticket.status_changed":
            before, after = d["from"], d["to"]
            status = after
            if after == "resolved" and before != "resolved":
                r.add(team, owner, "resolved")
                if e.actor_id is not None:
                    r.add(team, owner, "surveys")
                if owner is not None:
                    r.total.handled[owner] += 1
                if first_resolution is None:
                    first_resolution = (team, owner)
                    r.add(team, owner, "first_resolved")
                    r.time(team, owner, "ttr", _secs(start, e.created_at))
                    r.add(team, owner, "sla_ok", 0 if breached else 1)
            if before in {"resolved", "closed"} and after in OPEN:
                r.add(team, owner, "reopens")
                reopened = True
        elif e.kind == "sla.breached":
            breached = True
            r.add(team, owner, "breaches")
        elif e.kind == "feedback.received":
            if d.get("source") == "survey":
                r.add(team, owner, "csat_answered")
                r.add(team, owner, "csat_positive", 1 if d["rating"] >= 4 else 0)
            elif d.get("kind") in ("complaint", "suggestion"):
                r.add(team, owner, f"{d['kind']}s")
                for one in r.at(team, owner):
                    getattr(one, f"{d['kind']}s_by_category")[category] += 1
    if first_resolution is not None and not reopened and replies <= 1:
        r.add(*first_resolution, "fcr")
    if first_resolution is not None and reopened:
        r.add(*first_resolution, "reopened")
    if status in OPEN:
        r.add(team, owner, "backlog")


def stats(values: list[int]) -> dict[str, Any]:
    d = Durations.of_values(values)
    return {"count": d.count, "mean": d.mean, "median": d.median, "p90": d.p90}
