"""A deliberately naive business calendar, written apart from app/sla/calendar.py, to
check it against: it looks at the wall clock one minute at a time.

It reads the rule straight off the definition (open when the local clock shows a
non-holiday date and a time within that weekday's opening hours) and asks zoneinfo
for the local time of every minute, so it shares no code and no idea with the fast
calendar (no offsets, no transitions, no tables). It is exact for instants on whole
UTC minutes in zones whose offsets are whole minutes (every zone today), because
then nothing changes within a minute.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class NaiveCalendar:
    zone: ZoneInfo
    # weekday -> [(opens, closes)] in minutes after midnight
    hours: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()
    yearly: frozenset[tuple[int, int]] = frozenset()
    always_open: bool = False

    def is_open(self, at: datetime) -> bool:
        if self.always_open:
            return True
        local = at.astimezone(self.zone)
        day = local.date()
        if day in self.holidays or (day.month, day.day) in self.yearly:
            return False
        minute = local.hour * 60 + local.minute
        return any(opens <= minute < closes for opens, closes in self.hours.get(day.weekday(), []))

    def minutes_between(self, start: datetime, end: datetime) -> int:
        """Open minutes in [start, end); start and end on whole minutes."""
        count, moment = 0, start
        while moment < end:
            count += self.is_open(moment)
            moment += MINUTE
        return count

    def add_minutes(self, start: datetime, minutes: int) -> datetime:
        """The end of the minutes-th open minute from start (start itself for 0)."""
        moment = start.astimezone(UTC)
        while minutes > 0:
            if self.is_open(moment):
                minutes -= 1
            moment += MINUTE
        return moment

    def next_opening(self, at: datetime) -> datetime:
        moment = at.astimezone(UTC)
        while not self.is_open(moment):
            moment += MINUTE
        return moment

    def subtract_minutes(self, end: datetime, minutes: int) -> datetime:
        """The earliest instant with `minutes` open minutes between it and end."""
        moment = end.astimezone(UTC)
        if minutes == 0:
            return moment
        while minutes > 0:
            moment -= MINUTE
            if self.is_open(moment):
                minutes -= 1
        while not self.is_open(moment - MINUTE):
            moment -= MINUTE
        return moment
