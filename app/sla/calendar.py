"""Business calendars: when the desk is open, and business time counted on it.

A calendar is an IANA time zone, weekly opening hours in that zone's wall-clock time
(several intervals a weekday; an interval may end at 24:00), and holidays (single
dates, and month-days that recur every year) on which the desk stays closed all day;
or it is open around the clock (24/7). Business time is real elapsed time while the
desk is open: an hour of it is sixty minutes of the desk being open.

The rule for instants, clock changes included: **the desk is open at an instant when
the local clock, at that instant, shows a date that is not a holiday and a time within
that weekday's opening hours.** So:

- On the night clocks go forward, opening hours that fall in the skipped hour do not
  happen: 02:00-06:00 opens at 03:00 and gives three hours, and an interval lying
  wholly inside the skipped hour is not open that day.
- On the night clocks go back, the repeated hour is open both times the clock shows
  it: 00:00-24:00 gives 25 hours; 01:00-02:30 in Rome gives 01:00-02:30 summer time
  and again 02:00-02:30 winter time, two hours in all.
- Nothing depends on fixed offsets: the offsets come from zoneinfo, every day.

What the calendar computes (all instants timezone-aware, answers in UTC):

- `add_business_time(start, duration)`: the due time, the earliest instant by which
  `duration` of business time has passed since `start`. A due time is never inside
  closed time: it falls within opening hours or exactly at a closing time.
- `business_time_between(a, b)`: business time in [a, b); negative when b < a. Used to
  push due times out by the business time a ticket spent paused, and for metrics.
- `is_open(at)`, `next_opening(at)`: whether the desk is open, when it opens again.

Speed: the opening hours of a UTC month are turned into sorted UTC intervals with
running totals once (a few dozen microseconds), then every question is a binary
search, and a due time months away is a hop per month. `CalendarCache` keeps compiled
calendars by (calendar id, version), so an edited calendar is compiled anew and the
old version simply ages out.

Wiring: the calendar row (time zone, always_open, hours, holidays, version) becomes a
`CalendarSpec` through `app.sla.calendar_schemas.calendar_spec`; `calendars.get(id,
version, load)` returns the compiled calendar; the SLA reaction computes due times
with it when a ticket is created or its priority, team or policy changes, and stores
them. Nothing here touches the database.
"""

from __future__ import annotations

import itertools
import threading
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.sla.zone_offsets import (
    DAY_US,
    EPOCH,
    EPOCH_ORDINAL,
    FIRST_YEAR,
    LAST_YEAR,
    day_start,
    segments,
)

MINUTES_PER_DAY = 24 * 60
MINUTE_US = 60_000_000
_ONE_US = timedelta(microseconds=1)
# How far ahead a due time or an opening is looked for. A calendar that does not open
# within ten years (holidays covering every opening day) has no answer: BeyondHorizon.
HORIZON_MONTHS = 10 * 12
# Compiled months kept per calendar (fifty years); past it the cache starts over.
_MAX_MONTHS = 600


class InvalidCalendar(ValueError):
    """A calendar that cannot be used: no such time zone, no opening hours, overlaps."""


class BeyondHorizon(ValueError):
    """The answer lies more than ten years ahead, or outside the years datetime knows."""


@dataclass(frozen=True, slots=True)
class OpeningHours:
    weekday: int  # 0 Monday ... 6 Sunday, as date.weekday()
    opens: int  # minutes after local midnight, 0 ... 1439
    closes: int  # minutes after local midnight, opens + 1 ... 1440 (24:00)


@dataclass(frozen=True, slots=True)
class CalendarSpec:
    """A calendar as data. Construction validates it, whatever it was loaded from."""

    time_zone: str
    always_open: bool = False
    hours: tuple[OpeningHours, ...] = ()
    holidays: frozenset[date] = frozenset()
    yearly_holidays: frozenset[tuple[int, int]] = frozenset()  # (month, day)

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise InvalidCalendar(f"unknown time zone {self.time_zone[:64]!r}") from error
        if self.always_open:
            if self.hours or self.holidays or self.yearly_holidays:
                raise InvalidCalendar(
                    "a 24/7 calendar has no opening hours or holidays; to close on "
                    "holidays, give 00:00-24:00 on every weekday instead"
                )
            return
        if not self.hours:
            raise InvalidCalendar("a calendar needs opening hours, or always_open")
        for hours in self.hours:
            if not (0 <= hours.weekday <= 6 and 0 <= hours.opens < hours.closes <= MINUTES_PER_DAY):
                raise InvalidCalendar(f"invalid opening hours {hours}")
        for weekday, intervals in enumerate(_by_weekday(self.hours)):
            for (_, closes), (opens, _) in itertools.pairwise(intervals):
                if opens < closes:
                    raise InvalidCalendar(f"opening hours overlap on weekday {weekday}")
        for month, day in self.yearly_holidays:
            _yearly_date_check(month, day)


def _yearly_date_check(month: int, day: int) -> None:
    try:
        date(2000, month, day)  # a leap year: 29 February is a valid yearly holiday
    except ValueError as error:
        raise InvalidCalendar(f"no such day of the year: {month}-{day}") from error


def _by_weekday(hours: tuple[OpeningHours, ...]) -> list[list[tuple[int, int]]]:
    week: list[list[tuple[int, int]]] = [[] for _ in range(7)]
    for item in hours:
        week[item.weekday].append((item.opens, item.closes))
    return [sorted(day) for day in week]


def _merged(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted disjoint intervals with the touching ones joined."""
    merged: list[tuple[int, int]] = []
    for start, end in intervals:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _to_us(moment: datetime) -> int:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("business calendars need timezone-aware datetimes")
    return (moment - EPOCH) // _ONE_US


def _from_us(instant: int) -> datetime:
    try:
        return EPOCH + timedelta(microseconds=instant)
    except OverflowError:
        raise BeyondHorizon("past the years datetime can represent") from None


def _month_of(instant: int) -> int:
    """The UTC month of an instant as year * 12 + (month - 1)."""
    day = date.fromordinal(EPOCH_ORDINAL + instant // DAY_US)
    return day.year * 12 + day.month - 1


def _month_bounds(month: int) -> tuple[int, int]:
    """First and one-past-last proleptic ordinals of a UTC month."""
    year, index = divmod(month, 12)
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise BeyondHorizon(f"the year {year} is outside what the calendar can count")
    first = date(year, index + 1, 1)
    following = date(year + (index == 11), (index + 1) % 12 + 1, 1)
    return first.toordinal(), following.toordinal()


@dataclass(slots=True)
class _Month:
    """One UTC month of a calendar: its open intervals as instants, in order, with the
    business time before and at the end of each."""

    begin: int
    end: int
    starts: list[int]
    ends: list[int]
    before: list[int]
    through: list[int]
    total: int

    def business_before(self, instant: int) -> int:
        """Business time of this month in [begin, instant)."""
        index = bisect_right(self.starts, instant) - 1
        if index < 0:
            return 0
        return self.before[index] + min(instant, self.ends[index]) - self.starts[index]

    def instant_at(self, business: int) -> int:
        """The earliest instant with `business` (0 < business <= total) of it before."""
        index = bisect_left(self.through, business)
        return self.starts[index] + business - self.before[index]


@dataclass(slots=True, eq=False)
class BusinessCalendar:
    """A compiled calendar. Build it with `compile_calendar`; share it freely."""

    spec: CalendarSpec
    _zone: ZoneInfo = field(init=False, repr=False)
    _week: tuple[tuple[tuple[int, int], ...], ...] = field(init=False, repr=False)
    _holiday_ordinals: frozenset[int] = field(init=False, repr=False)
    _months: dict[int, _Month] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._zone = ZoneInfo(self.spec.time_zone)
        self._week = tuple(
            tuple((opens * MINUTE_US, closes * MINUTE_US) for opens, closes in _merged(day))
            for day in _by_weekday(self.spec.hours)
        )
        self._holiday_ordinals = frozenset(day.toordinal() for day in self.spec.holidays)

    @property
    def always_open(self) -> bool:
        return self.spec.always_open

    @property
    def time_zone(self) -> str:
        return self.spec.time_zone

    def add_business_time(self, start: datetime, duration: timedelta) -> datetime:
        """The earliest instant by which `duration` of business time has passed since
        `start`: the due time of a target of that length."""
        instant, remaining = _to_us(start), duration // _ONE_US
        if remaining < 0:
            raise ValueError("a duration of business time cannot be negative")
        if self.spec.always_open or remaining == 0:
            return _from_us(instant + remaining)
        month = _month_of(instant)
        for _ in range(HORIZON_MONTHS + 1):
            table = self._month(month)
            done = table.business_before(instant)
            left = table.total - done
            if remaining <= left:
                return _from_us(table.instant_at(done + remaining))
            remaining -= left
            month, instant = month + 1, table.end
        raise BeyondHorizon("the calendar does not reach that much business time")

    def subtract_business_time(self, end: datetime, duration: timedelta) -> datetime:
        """The earliest instant from which `duration` of business time runs up to `end`:
        add_business_time backwards (a warning point before a due time, a due time
        brought forward when a target shrinks). Like add, it never answers with an
        opening time when the closing time before it is equivalent."""
        instant, remaining = _to_us(end), duration // _ONE_US
        if remaining < 0:
            raise ValueError("a duration of business time cannot be negative")
        if self.spec.always_open or remaining == 0:
            return _from_us(instant - remaining)
        month = _month_of(instant)
        for _ in range(HORIZON_MONTHS + 1):
            table = self._month(month)
            done = table.business_before(instant)
            if remaining < done:
                return _from_us(table.instant_at(done - remaining))
            # Exactly at this month's first opening: the answer is the closing before.
            remaining -= done
            month, instant = month - 1, table.begin
        raise BeyondHorizon("the calendar was not open for that much business time")

    def business_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Business time in [start, end); negative when end comes before start."""
        low, high = _to_us(start), _to_us(end)
        if high < low:
            return -self.business_time_between(end, start)
        if self.spec.always_open:
            return timedelta(microseconds=high - low)
        first, last = _month_of(low), _month_of(high)
        opening = self._month(first)
        if first == last:
            return timedelta(
                microseconds=opening.business_before(high) - opening.business_before(low)
            )
        total = opening.total - opening.business_before(low)
        for month in range(first + 1, last):
            total += self._month(month).total
        total += self._month(last).business_before(high)
        return timedelta(microseconds=total)

    def is_open(self, at: datetime) -> bool:
        if self.spec.always_open:
            return True
        instant = _to_us(at)
        table = self._month(_month_of(instant))
        index = bisect_right(table.starts, instant) - 1
        return index >= 0 and instant < table.ends[index]

    def next_opening(self, at: datetime) -> datetime:
        """When the desk opens: `at` itself while it is open, else the next opening."""
        if self.is_open(at):
            return _from_us(_to_us(at))
        instant = _to_us(at)
        month = _month_of(instant)
        table = self._month(month)
        index = bisect_right(table.starts, instant)
        for _ in range(HORIZON_MONTHS):
            if index < len(table.starts):
                return _from_us(table.starts[index])
            month += 1
            table = self._month(month)
            index = 0
        raise BeyondHorizon("the calendar does not open within ten years")

    def _month(self, month: int) -> _Month:
        table = self._months.get(month)
        if table is None:
            if len(self._months) >= _MAX_MONTHS:
                self._months.clear()
            table = self._months[month] = self._compile_month(month)
        return table

    def _compile_month(self, month: int) -> _Month:
        first, following = _month_bounds(month)
        begin, end = day_start(first), day_start(following)
        offsets = segments(self._zone, begin, end)
        yearly = self.spec.yearly_holidays
        pieces: list[tuple[int, int]] = []
        # Local dates differ from UTC dates by less than a day: one day either side.
        for ordinal in range(first - 1, following + 1):
            if ordinal in self._holiday_ordinals:
                continue
            hours = self._week[(ordinal - 1) % 7]  # ordinal 1 was a Monday
            if not hours:
                continue
            if yearly:
                day = date.fromordinal(ordinal)
                if (day.month, day.day) in yearly:
                    continue
            midnight = day_start(ordinal)  # the local midnight, as if the zone were UTC
            for opens, closes in hours:
                for segment_start, segment_end, offset in offsets:
                    low = max(midnight + opens - offset, segment_start)
                    high = min(midnight + closes - offset, segment_end)
                    if low < high:
                        pieces.append((low, high))
        if len(offsets) > 1:
            pieces.sort()  # a repeated hour puts a later wall time at an earlier instant
        return _tabulate(begin, end, _merged(pieces))


def _tabulate(begin: int, end: int, intervals: list[tuple[int, int]]) -> _Month:
    starts, ends, before, through = [], [], [], []
    total = 0
    for start, stop in intervals:
        starts.append(start)
        ends.append(stop)
        before.append(total)
        total += stop - start
        through.append(total)
    return _Month(begin, end, starts, ends, before, through, total)


def compile_calendar(spec: CalendarSpec) -> BusinessCalendar:
    return BusinessCalendar(spec)


ALWAYS_OPEN = compile_calendar(CalendarSpec(time_zone="UTC", always_open=True))


class CalendarCache:
    """Compiled calendars by (calendar id, version), the least recently used dropped
    first. A new version (an edit) is a new key, so no stale calendar is ever served
    to a caller that passes the row's current version."""

    def __init__(self, capacity: int = 256) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[tuple[int, int], BusinessCalendar] = OrderedDict()
        self._lock = threading.Lock()

    def get(
        self, calendar_id: int, version: int, load: Callable[[], CalendarSpec]
    ) -> BusinessCalendar:
        key = (calendar_id, version)
        with self._lock:
            compiled = self._entries.get(key)
            if compiled is not None:
                self._entries.move_to_end(key)
                return compiled
        compiled = compile_calendar(load())
        with self._lock:
            self._entries[key] = compiled
            self._entries.move_to_end(key)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)
        return compiled

    def __len__(self) -> int:
        return len(self._entries)


calendars = CalendarCache()
