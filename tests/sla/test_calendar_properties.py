"""The business calendar agrees with a naive minute-by-minute one, on random calendars
in zones with clock changes of every kind, and its operations fit together exactly."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
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
SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


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


def _weekly_minutes(naive: NaiveCalendar) -> int:
    return sum(closes - opens for day in naive.hours.values() for opens, closes in day)


@SLOW
@given(st.data())
def test_open_minutes_and_business_time_agree_with_the_naive_calendar(data: st.DataObject) -> None:
    start = data.draw(instants())
    fast, naive = data.draw(calendars(start))
    end = start + data.draw(st.integers(0, 4 * 1440)) * MINUTE
    assert fast.business_time_between(start, end) == naive.minutes_between(start, end) * MINUTE
    for minute in data.draw(st.lists(st.integers(0, 4 * 1440), max_size=20)):
        moment = start + minute * MINUTE
        assert fast.is_open(moment) is naive.is_open(moment), moment


@SLOW
@given(st.data())
def test_due_times_agree_with_the_naive_calendar(data: st.DataObject) -> None:
    start = data.draw(instants())
    fast, naive = data.draw(calendars(start))
    minutes = data.draw(st.integers(0, min(2000, 2 * _weekly_minutes(naive))))
    assert fast.add_business_time(start, minutes * MINUTE) == naive.add_minutes(start, minutes)


@SLOW
@given(st.data())
def test_rewinding_and_openings_agree_with_the_naive_calendar(data: st.DataObject) -> None:
    end = data.draw(instants())
    fast, naive = data.draw(calendars(end))
    minutes = data.draw(st.integers(0, min(2000, 2 * _weekly_minutes(naive))))
    assert fast.subtract_business_time(end, minutes * MINUTE) == naive.subtract_minutes(
        end, minutes
    )
    assert fast.next_opening(end) == naive.next_opening(end)


# Exact algebra at microsecond precision: no rounding, on any instant.
precise_instants = st.datetimes(
    min_value=datetime(2015, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)
durations = st.integers(0, 200 * 3600 * 10**6).map(lambda us: timedelta(microseconds=us))


@settings(max_examples=300, deadline=None)
@given(st.data(), precise_instants, durations, durations)
def test_add_between_and_subtract_fit_together(
    data: st.DataObject, start: datetime, first: timedelta, second: timedelta
) -> None:
    calendar, _ = data.draw(calendars(start))
    due = calendar.add_business_time(start, first)
    assert calendar.business_time_between(start, due) == first
    assert calendar.add_business_time(due, second) == calendar.add_business_time(
        start, first + second
    )
    # A due time is where business time ends, never inside closed time after it.
    if first:
        assert calendar.is_open(due - timedelta(microseconds=1))
    earliest = calendar.subtract_business_time(due, first)
    assert earliest <= start
    assert calendar.business_time_between(earliest, start) == timedelta(0)
    later = start + second
    assert calendar.business_time_between(start, later) == -calendar.business_time_between(
        later, start
    )
    middle = start + first
    assert calendar.business_time_between(start, later + first) == calendar.business_time_between(
        start, middle
    ) + calendar.business_time_between(middle, later + first)
    # add undoes between: the earliest instant with that much business time since start.
    back = calendar.add_business_time(start, calendar.business_time_between(start, later))
    assert back <= later
    assert calendar.business_time_between(back, later) == timedelta(0)
    opening = calendar.next_opening(later)
    assert calendar.is_open(opening)
    assert calendar.business_time_between(later, opening) == timedelta(0)
