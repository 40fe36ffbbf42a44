"""The business calendar agrees with a naive minute-by-minute one, on random calendars
in zones with clock changes of every kind, and its operations fit together exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from app.sla.calendar import HORIZON_MONTHS, BeyondHorizon
from tests.sla.naive_calendar import NaiveCalendar
from tests.sla.strategies import MINUTE, calendars, instants

SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


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
    calendar, naive = data.draw(calendars(start))
    try:
        due = calendar.add_business_time(start, first)
        both = calendar.add_business_time(start, first + second)
    except BeyondHorizon:
        # A calendar open a minute a week gives no 400 hours within the ten years a due
        # time is looked for: no due time, nothing to compare. Only such a sparse one may
        # say so (holidays may take up to half of its open time).
        yearly = _weekly_minutes(naive) * MINUTE * 52
        assert yearly * HORIZON_MONTHS // 12 < 2 * (first + second)
        reject()
    assert calendar.business_time_between(start, due) == first
    assert calendar.add_business_time(due, second) == both
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
