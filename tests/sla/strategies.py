"""Hypothesis strategies for business calendars: random opening hours and holidays in
zones with clock changes of every kind, each with its naive twin to check against."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from app.sla.calendar import BusinessCalendar, CalendarSpec, OpeningHours, compile_calendar
from tests.sla.naive_calendar import NaiveCalendar

ZONES = [
    "Europe/Rome",
    "America/New_York",
    "Australia/Lord_Howe",  # a half-hour clock change
    "America/Santiago",  # changes at midnight
    "America/Havana",  # goes back from 01:00 to 00:00
    "Asia/Beirut",  # changes at midnight
    "Pacific/Apia",  # skipped 30 December 2011 altogether
    "Pacific/Chatham",  # +12:45 / +13:45
    "Asia/Kolkata",  # no clock changes, a half-hour offset
    "UTC",
]
# Days around clock changes (and Samoa's missing day), where the bugs would hide.
CHANGE_DAYS = [
    datetime(2024, 3, 31, tzinfo=UTC),
    datetime(2024, 10, 27, tzinfo=UTC),
    datetime(2024, 3, 10, tzinfo=UTC),
    datetime(2024, 11, 3, tzinfo=UTC),
    datetime(2024, 4, 7, tzinfo=UTC),
    datetime(2024, 10, 6, tzinfo=UTC),
    datetime(2024, 4, 7, tzinfo=UTC),
    datetime(2024, 9, 8, tzinfo=UTC),
    datetime(2024, 3, 31, tzinfo=UTC),
    datetime(2024, 11, 3, tzinfo=UTC),
    datetime(2011, 12, 29, tzinfo=UTC),
    datetime(2025, 4, 6, tzinfo=UTC),
    datetime(2025, 9, 28, tzinfo=UTC),
    datetime(2026, 3, 8, tzinfo=UTC),
    datetime(2026, 3, 29, tzinfo=UTC),
    datetime(2026, 10, 25, tzinfo=UTC),
    datetime(2026, 11, 1, tzinfo=UTC),
    # Month and year ends: a month's table must take in the local days either side.
    datetime(2026, 12, 31, tzinfo=UTC),
    datetime(2024, 2, 29, tzinfo=UTC),
    datetime(2025, 4, 30, tzinfo=UTC),
    datetime(2025, 8, 31, tzinfo=UTC),
]
MINUTE = timedelta(minutes=1)


@st.composite
def day_hours(draw: st.DrawFn) -> list[tuple[int, int]]:
    step = draw(st.sampled_from([1, 15, 30, 60]))
    bounds = draw(
        st.lists(st.integers(0, 1440 // step), min_size=0, max_size=6, unique=True).map(sorted)
    )
    if len(bounds) % 2:
        bounds = bounds[:-1]
    return [(bounds[i] * step, bounds[i + 1] * step) for i in range(0, len(bounds), 2)]


@st.composite
def instants(draw: st.DrawFn) -> datetime:
    """A whole UTC minute: anywhere in 2010-2030, or within four days of a change."""
    if draw(st.booleans()):
        base = draw(st.sampled_from(CHANGE_DAYS))
        return base + draw(st.integers(-4 * 1440, 4 * 1440)) * MINUTE
    moment = draw(st.datetimes(min_value=datetime(2010, 1, 1), max_value=datetime(2030, 12, 31)))
    return moment.replace(second=0, microsecond=0, tzinfo=UTC)


@st.composite
def calendars(draw: st.DrawFn, near: datetime) -> tuple[BusinessCalendar, NaiveCalendar]:
    zone = draw(st.sampled_from(ZONES))
    week = {weekday: draw(day_hours()) for weekday in range(7)}
    if not any(week.values()):
        week[draw(st.integers(0, 6))] = [(540, 1020)]
    holidays = frozenset(
        (near + timedelta(days=offset)).date()
        for offset in draw(st.lists(st.integers(-3, 20), max_size=4))
    )
    yearly = frozenset(
        (day.month, day.day)
        for day in draw(st.lists(st.dates(date(2000, 1, 1), date(2000, 12, 31)), max_size=3))
    )
    spec = CalendarSpec(
        time_zone=zone,
        hours=tuple(
            OpeningHours(weekday, opens, closes)
            for weekday, intervals in week.items()
            for opens, closes in intervals
        ),
        holidays=holidays,
        yearly_holidays=yearly,
    )
    naive = NaiveCalendar(ZoneInfo(zone), week, holidays, yearly)
    return compile_calendar(spec), naive
