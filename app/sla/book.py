"""The policies in force, loaded for a batch of changes: which applies to a ticket, and
the targets and calendar its clock runs on.

A desk has a few dozen policies at most: one query per batch loads them with their
calendars; compiled calendars come from the process-wide cache by row and version, so
an edited calendar is compiled once. A database without any policy (one whose rows
were removed by hand) falls back to the targets the desk always had, around the clock
(app/sla/policy.py), so a ticket is never left without due times.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import BusinessCalendarRow, Priority, SlaPolicy, Ticket
from app.sla import clock
from app.sla.calendar import ALWAYS_OPEN, BusinessCalendar, CalendarSpec, calendars
from app.sla.calendar_schemas import calendar_spec
from app.sla.matching import PolicyRule, TicketFacts, first_matching_policy
from app.sla.policy import targets as builtin_targets
from app.sla.policy_schemas import BreachAction, PolicyConditions, PolicyTargets


@dataclass(frozen=True, slots=True)
class Applied:
    """What a ticket of one priority is held to under one policy."""

    policy_id: int | None
    policy_name: str | None
    calendar: BusinessCalendar
    targets: clock.Targets
    on_breach: tuple[BreachAction, ...] = ()


@dataclass(frozen=True, slots=True)
class _Policy:
    row_id: int
    name: str
    rule: PolicyRule
    targets: PolicyTargets
    calendar: BusinessCalendar
    on_breach: tuple[BreachAction, ...]

    def applied(self, priority: Priority) -> Applied:
        given = self.targets.for_priority(priority)
        if given is None:
            return Applied(self.row_id, self.name, self.calendar, clock.Targets(), self.on_breach)
        first, following, resolution = given.durations()
        return Applied(
            self.row_id,
            self.name,
            self.calendar if given.business_hours else ALWAYS_OPEN,
            clock.Targets(first, following, resolution),
            self.on_breach,
        )


def _spec(row: BusinessCalendarRow) -> CalendarSpec:
    return calendar_spec(row.time_zone, row.always_open, row.hours, row.holidays)


def builtin(priority: Priority) -> Applied:
    first, resolution = builtin_targets(priority)
    return Applied(None, None, ALWAYS_OPEN, clock.Targets(first, None, resolution))


def facts_of(ticket: Ticket) -> TicketFacts:
    # Customers have no organisation or tier yet: conditions on them match no ticket.
    return TicketFacts(team_id=ticket.team_id, category=ticket.category, channel=ticket.channel)


class PolicyBook:
    def __init__(self, policies: list[_Policy]) -> None:
        self._policies = policies
        self._by_id = {policy.row_id: policy for policy in policies}

    @classmethod
    async def load(cls, session: AsyncSession) -> PolicyBook:
        rows = await session.execute(
            select(SlaPolicy, BusinessCalendarRow).join(
                BusinessCalendarRow, BusinessCalendarRow.id == SlaPolicy.calendar_id
            )
        )
        policies = []
        for policy, row in rows:
            compiled = _compiled(row)
            conditions = PolicyConditions.model_validate(policy.conditions)
            policies.append(
                _Policy(
                    policy.id,
                    policy.name,
                    conditions.rule(policy.id, policy.position, policy.is_default),
                    PolicyTargets.model_validate(policy.targets),
                    compiled,
                    tuple(BreachAction(action) for action in policy.on_breach),
                )
            )
        return cls(policies)

    def policy_for(self, ticket: Ticket) -> int | None:
        rule = first_matching_policy((p.rule for p in self._policies), facts_of(ticket))
        return None if rule is None else rule.id

    def applied(self, policy_id: int | None, priority: Priority) -> Applied:
        policy = None if policy_id is None else self._by_id.get(policy_id)
        return builtin(priority) if policy is None else policy.applied(priority)

    def name_of(self, policy_id: int | None) -> str | None:
        policy = None if policy_id is None else self._by_id.get(policy_id)
        return None if policy is None else policy.name


def _compiled(row: BusinessCalendarRow) -> BusinessCalendar:
    # Ids come back after a database is emptied (tests do it all the time): the
    # creation instant tells the rows apart in the process-wide cache.
    return calendars.get(hash((row.id, row.created_at)), row.version, partial(_spec, row))


async def calendars_by_policy(session: AsyncSession) -> dict[int, BusinessCalendar]:
    """Each policy's calendar, in one query of plain columns (no targets, no ORM
    objects: it runs with every change that may end a duration); what the metrics
    count business time on (app/metrics/business_time.py)."""
    c = BusinessCalendarRow
    rows = await session.execute(
        select(
            SlaPolicy.id,
            c.id,
            c.created_at,
            c.version,
            c.time_zone,
            c.always_open,
            c.hours,
            c.holidays,
        ).join(c, c.id == SlaPolicy.calendar_id)
    )
    found = {}
    for policy_id, row_id, created_at, version, zone, always_open, hours, holidays in rows:
        load = partial(calendar_spec, zone, always_open, hours, holidays)
        found[policy_id] = calendars.get(hash((row_id, created_at)), version, load)
    return found


# -- the clock as the ticket row stores it ---------------------------------------------


def clock_of(ticket: Ticket) -> clock.SlaClock:
    return clock.SlaClock(
        first_response_due_at=ticket.first_response_due_at,
        next_response_due_at=ticket.next_response_due_at,
        resolution_due_at=ticket.resolution_due_at,
        paused_since=ticket.sla_paused_since,
        paused=timedelta(seconds=ticket.sla_paused_seconds or 0.0),
    )


CLOSED_STATUSES = frozenset({"resolved", "closed"})


def store(ticket: Ticket, moved: clock.SlaClock, applied: Applied, warning_ratio: float) -> None:
    """Write a clock back to the row, with when each target's warning is due and the
    soonest due time the queue sorts by."""
    ticket.first_response_due_at = moved.first_response_due_at
    ticket.next_response_due_at = moved.next_response_due_at
    ticket.resolution_due_at = moved.resolution_due_at
    ticket.sla_paused_since = moved.paused_since
    ticket.sla_paused_seconds = moved.paused.total_seconds()
    ticket.sla_due_at = queue_due(ticket, moved)
    targets = applied.targets

    def warn(due: datetime | None, target: timedelta | None) -> datetime | None:
        if due is None or target is None:
            return None
        return clock.warning_at(applied.calendar, due, target, warning_ratio)

    ticket.first_response_warn_at = warn(moved.first_response_due_at, targets.first_response)
    ticket.next_response_warn_at = warn(moved.next_response_due_at, targets.next_response)
    ticket.resolution_warn_at = warn(moved.resolution_due_at, targets.resolution)


def queue_due(ticket: Ticket, current: clock.SlaClock) -> datetime | None:
    """The due time the ticket races now; None while paused or when it is done."""
    if current.is_paused or ticket.status in CLOSED_STATUSES:
        return None
    return clock.soonest_due(current, answered=ticket.first_response_at is not None, resolved=False)
