"""How long a ticket waited, in the time its SLA policy counts: business seconds on the
policy's calendar, wall-clock seconds for a 24/7 calendar or a ticket without a policy.

The fold (app/metrics/facts.py) stays pure: it is handed a `BusinessTime`, loaded once
per batch (one query: each policy's calendar; compiled calendars come from the
process-wide cache by calendar and version), and asks it for each duration with the
policy in force when the duration ends.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.metrics.facts import wall_clock
from app.sla.book import calendars_by_policy
from app.sla.calendar import BeyondHorizon, BusinessCalendar

_SECOND = timedelta(seconds=1)


class BusinessTime:
    """`elapsed(policy_id, start, end)` for the fold: whole seconds, rounded down."""

    __slots__ = ("_calendars",)

    def __init__(self, calendars: Mapping[int, BusinessCalendar]) -> None:
        # Around-the-clock calendars are left out: their business time is wall-clock.
        self._calendars = {k: c for k, c in calendars.items() if not c.always_open}

    @classmethod
    async def load(cls, session: AsyncSession) -> BusinessTime:
        return cls(await calendars_by_policy(session))

    def __call__(self, policy_id: int | None, start: datetime, end: datetime) -> int:
        calendar = None if policy_id is None else self._calendars.get(policy_id)
        if calendar is None or end <= start:
            return wall_clock(policy_id, start, end)
        try:
            return calendar.business_time_between(start, end) // _SECOND
        except BeyondHorizon:  # outside the years a calendar can count: no better answer
            return wall_clock(policy_id, start, end)


WALL_CLOCK = BusinessTime({})
