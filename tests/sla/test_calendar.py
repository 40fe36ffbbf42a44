"""Business calendars, case by case: weekends, holidays, year ends, clock changes in
Rome and New York, 24/7, a desk about to open, and calendars that cannot work."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.sla.calendar import (
    ALWAYS_OPEN,
    BeyondHorizon,
    BusinessCalendar,
    CalendarCache,
    CalendarSpec,
    InvalidCalendar,
    OpeningHours,
    compile_calendar,
)
from tests.sla.naive_calendar import NaiveCalendar

ROME = ZoneInfo("Europe/Rome")
NEW_YORK = ZoneInfo("America/New_York")
WEEKDAYS = range(5)
SPLIT_DAY = [("09:00", "12:30"), ("14:00", "18:00")]  # 7.5 hours with a lunch break


def every(days: range, *intervals: tuple[str, str]) -> dict[int, list[tuple[str, str]]]:
    return {day: list(intervals) for day in days}


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def desk(
    zone: str = "Europe/Rome",
    hours: dict[int, list[tuple[str, str]]] | None = None,
    holidays: tuple[date, ...] = (),
    yearly: tuple[tuple[int, int], ...] = (),
) -> BusinessCalendar:
    week = hours if hours is not None else every(WEEKDAYS, *SPLIT_DAY)
    return compile_calendar(
        CalendarSpec(
            time_zone=zone,
            hours=tuple(
                OpeningHours(weekday, _minutes(opens), _minutes(closes))
                for weekday, intervals in week.items()
                for opens, closes in intervals
            ),
            holidays=frozenset(holidays),
            yearly_holidays=frozenset(yearly),
        )
    )


def rome(*args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=ROME, fold=fold)  # type: ignore[misc]


def in_rome(moment: datetime) -> datetime:
    return moment.astimezone(ROME)


def test_a_friday_evening_ticket_is_due_on_monday_morning() -> None:
    calendar = desk()
    friday_evening = rome(2026, 3, 27, 17, 30)  # the clocks go forward that weekend
    due = calendar.add_business_time(friday_evening, timedelta(hours=1))
    assert in_rome(due) == rome(2026, 3, 30, 9, 30)
    assert calendar.business_time_between(friday_evening, due) == timedelta(hours=1)


def test_the_lunch_break_does_not_count() -> None:
    calendar = desk()
    due = calendar.add_business_time(rome(2026, 6, 1, 12, 0), timedelta(hours=1))
    assert in_rome(due) == rome(2026, 6, 1, 14, 30)
    assert not calendar.is_open(rome(2026, 6, 1, 13, 0))


def test_a_target_ending_at_closing_time_is_due_at_closing_time() -> None:
    calendar = desk()
    due = calendar.add_business_time(rome(2026, 6, 1, 17, 0), timedelta(hours=1))
    assert in_rome(due) == rome(2026, 6, 1, 18, 0)


def test_new_york_across_the_autumn_change() -> None:
    calendar = desk("America/New_York", every(WEEKDAYS, ("09:00", "17:00")))
    friday = datetime(2026, 10, 30, 16, 0, tzinfo=NEW_YORK)  # EDT; Sunday goes back to EST
    due = calendar.add_business_time(friday, timedelta(hours=2))
    assert due.astimezone(NEW_YORK) == datetime(2026, 11, 2, 10, 0, tzinfo=NEW_YORK)
    assert due.astimezone(NEW_YORK).utcoffset() == timedelta(hours=-5)
    # Friday 09:00 to Monday 09:00 is 73 hours on the wall clock, one business day.
    start, end = (
        datetime(2026, 10, 30, 9, 0, tzinfo=NEW_YORK),
        datetime(2026, 11, 2, 9, 0, tzinfo=NEW_YORK),
    )
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=73)
    assert calendar.business_time_between(start, end) == timedelta(hours=8)


def test_new_york_spring_change_inside_round_the_clock_hours() -> None:
    calendar = desk("America/New_York", {6: [("00:00", "24:00")]})
    sunday = datetime(2026, 3, 8, tzinfo=NEW_YORK)
    monday = datetime(2026, 3, 9, tzinfo=NEW_YORK)
    assert calendar.business_time_between(sunday, monday) == timedelta(hours=23)


def test_rome_spring_forward_skips_the_missing_hour() -> None:
    # 29 March 2026: 02:00 does not exist, the clocks jump to 03:00.
    calendar = desk(hours={6: [("02:00", "06:00")]})
    saturday, monday = rome(2026, 3, 28), rome(2026, 3, 30)
    assert calendar.business_time_between(saturday, monday) == timedelta(hours=3)
    assert in_rome(calendar.next_opening(saturday)) == rome(2026, 3, 29, 3, 0)
    assert in_rome(calendar.next_opening(saturday)).utcoffset() == timedelta(hours=2)


def test_opening_hours_wholly_inside_the_missing_hour_do_not_happen() -> None:
    calendar = desk(hours={6: [("02:15", "02:45")]})
    opening = calendar.next_opening(rome(2026, 3, 28))
    assert in_rome(opening) == rome(2026, 4, 5, 2, 15)  # a week later


def test_rome_fall_back_opens_the_repeated_hour_twice() -> None:
    # 25 October 2026: the clocks go back from 03:00 to 02:00.
    sunday, monday = rome(2026, 10, 25), rome(2026, 10, 26)
    around_the_day = desk(hours={6: [("00:00", "24:00")]})
    assert around_the_day.business_time_between(sunday, monday) == timedelta(hours=25)
    early = desk(hours={6: [("01:00", "02:30")]})
    assert early.business_time_between(sunday, monday) == timedelta(hours=2)
    assert early.is_open(rome(2026, 10, 25, 2, 15, fold=0))  # summer time
    assert not early.is_open(rome(2026, 10, 25, 2, 45, fold=0))
    assert early.is_open(rome(2026, 10, 25, 2, 15, fold=1))  # winter time, again
    assert not early.is_open(rome(2026, 10, 25, 2, 45, fold=1))


def test_the_repeated_hour_interleaves_two_intervals() -> None:
    # Summer 00:00-02:30 and 02:45-03:00, then winter 02:00-02:30 and 02:45-04:00: the
    # second interval's summer part comes before the first's winter part.
    calendar = desk(hours={6: [("00:00", "02:30"), ("02:45", "04:00")]})
    saturday = rome(2026, 10, 24, 23, 0)
    assert calendar.business_time_between(saturday, rome(2026, 10, 26)) == timedelta(hours=4.5)
    due = calendar.add_business_time(saturday, timedelta(hours=2, minutes=45))
    assert due == datetime(2026, 10, 25, 1, 0, tzinfo=UTC)  # 02:00 winter time
    due = calendar.add_business_time(saturday, timedelta(hours=3))
    assert in_rome(due) == rome(2026, 10, 25, 2, 15, fold=1)
    assert not calendar.is_open(datetime(2026, 10, 25, 1, 40, tzinfo=UTC))


def test_hours_ending_at_midnight_run_on_into_the_next_day() -> None:
    calendar = desk(hours={4: [("22:00", "24:00")], 5: [("00:00", "02:00")]})
    due = calendar.add_business_time(rome(2026, 6, 5, 23, 0), timedelta(hours=2))
    assert in_rome(due) == rome(2026, 6, 6, 1, 0)
    assert calendar.is_open(rome(2026, 6, 6, 0, 0))


def test_a_holiday_today_moves_the_due_time_to_the_next_working_day() -> None:
    today = datetime.now(ROME).date()
    calendar = desk(hours=every(range(7), ("09:00", "17:00")), holidays=(today,))
    morning = datetime(today.year, today.month, today.day, 10, 0, tzinfo=ROME)
    assert not calendar.is_open(morning)
    due = calendar.add_business_time(morning, timedelta(minutes=30))
    tomorrow = today + timedelta(days=1)
    assert in_rome(due) == datetime(tomorrow.year, tomorrow.month, tomorrow.day, 9, 30, tzinfo=ROME)


def test_yearly_holidays_and_the_year_end() -> None:
    calendar = desk(yearly=((12, 25), (12, 26), (1, 1)))
    # Thursday 24 December: an hour left; Friday 25 a holiday, then the weekend.
    due = calendar.add_business_time(rome(2026, 12, 24, 17, 0), timedelta(hours=2))
    assert in_rome(due) == rome(2026, 12, 28, 10, 0)
    # Thursday 31 December: New Year's Day, then a weekend: Monday 4 January 2027.
    due = calendar.add_business_time(rome(2026, 12, 31, 17, 0), timedelta(hours=2))
    assert in_rome(due) == rome(2027, 1, 4, 10, 0)


def test_hours_that_open_in_a_few_minutes() -> None:
    calendar = desk()
    monday_morning = rome(2026, 6, 1, 8, 55)
    assert not calendar.is_open(monday_morning)
    assert in_rome(calendar.next_opening(monday_morning)) == rome(2026, 6, 1, 9, 0)
    due = calendar.add_business_time(monday_morning, timedelta(minutes=30))
    assert in_rome(due) == rome(2026, 6, 1, 9, 30)
    assert calendar.business_time_between(monday_morning, rome(2026, 6, 1, 9, 0)) == timedelta(0)


def test_next_opening_of_an_open_desk_is_now() -> None:
    calendar = desk()
    at = rome(2026, 6, 1, 10, 0)
    assert calendar.next_opening(at) == at


def test_a_day_that_never_happened_is_not_open() -> None:
    # Samoa skipped 30 December 2011, moving across the date line.
    calendar = desk("Pacific/Apia", every(range(7), ("09:00", "17:00")))
    apia = ZoneInfo("Pacific/Apia")
    start, end = datetime(2011, 12, 29, tzinfo=apia), datetime(2012, 1, 1, tzinfo=apia)
    assert calendar.business_time_between(start, end) == timedelta(hours=16)


def test_round_the_clock() -> None:
    start = rome(2026, 3, 28, 23, 0)  # four real hours later the clocks show 04:00
    due = ALWAYS_OPEN.add_business_time(start, timedelta(hours=4))
    assert due == start.astimezone(UTC) + timedelta(hours=4)
    assert in_rome(due) == rome(2026, 3, 29, 4, 0)
    assert ALWAYS_OPEN.business_time_between(start, rome(2026, 3, 29, 4, 0)) == timedelta(hours=4)
    assert ALWAYS_OPEN.is_open(start)
    assert ALWAYS_OPEN.next_opening(start) == start


def test_a_long_target_hops_months_and_agrees_with_the_naive_calendar() -> None:
    calendar = desk(yearly=((12, 25), (1, 1)))
    naive = NaiveCalendar(ROME, {day: [(540, 750), (840, 1080)] for day in WEEKDAYS},
                          yearly=frozenset({(12, 25), (1, 1)}))  # fmt: skip
    start = rome(2026, 11, 20, 11, 7)
    fortnight = 14 * 24 * 60
    due = calendar.add_business_time(start, timedelta(minutes=fortnight))
    assert due == naive.add_minutes(start, fortnight)
    assert in_rome(due).date() == date(2027, 1, 26)


def test_rewinding_gives_the_warning_point_and_prefers_the_closing_before() -> None:
    calendar = desk()
    due = rome(2026, 3, 30, 9, 30)
    assert in_rome(calendar.subtract_business_time(due, timedelta(minutes=12))) == rome(
        2026, 3, 30, 9, 18
    )
    assert in_rome(calendar.subtract_business_time(due, timedelta(minutes=30))) == rome(
        2026, 3, 27, 18, 0
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (dict(time_zone="Europe/Rome"), "needs opening hours"),
        (dict(time_zone="Mars/Olympus", always_open=True), "unknown time zone"),
        (dict(time_zone="../../etc/passwd", always_open=True), "unknown time zone"),
        (
            dict(time_zone="UTC", hours=(OpeningHours(0, 540, 780), OpeningHours(0, 720, 900))),
            "overlap",
        ),
        (dict(time_zone="UTC", hours=(OpeningHours(0, 600, 540),)), "invalid opening hours"),
        (dict(time_zone="UTC", hours=(OpeningHours(7, 540, 600),)), "invalid opening hours"),
        (
            dict(time_zone="UTC", always_open=True, hours=(OpeningHours(0, 540, 600),)),
            "24/7",
        ),
        (
            dict(time_zone="UTC", hours=(OpeningHours(0, 540, 600),), yearly_holidays={(2, 30)}),
            "no such day",
        ),
    ],
)
def test_calendars_that_cannot_work_are_refused(spec: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidCalendar, match=message):
        CalendarSpec(**spec)  # type: ignore[arg-type]


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        desk().add_business_time(datetime(2026, 6, 1, 9, 0), timedelta(hours=1))


def test_a_calendar_that_never_opens_has_no_due_time() -> None:
    every_day = tuple(
        (day.month, day.day) for day in (date(2000, 1, 1) + timedelta(n) for n in range(366))
    )
    calendar = desk(yearly=every_day)
    with pytest.raises(BeyondHorizon):
        calendar.add_business_time(rome(2026, 6, 1), timedelta(minutes=1))
    with pytest.raises(BeyondHorizon):
        calendar.next_opening(rome(2026, 6, 1))


def test_the_cache_compiles_each_version_once() -> None:
    cache = CalendarCache(capacity=2)
    loads: list[int] = []

    def load(version: int) -> CalendarSpec:
        loads.append(version)
        return CalendarSpec(time_zone="UTC", hours=(OpeningHours(0, 540, 600 + version),))

    first = cache.get(7, 1, lambda: load(1))
    assert cache.get(7, 1, lambda: load(1)) is first
    edited = cache.get(7, 2, lambda: load(2))
    assert edited is not first
    assert edited.spec.hours[0].closes == 602
    assert loads == [1, 2]
    cache.get(8, 1, lambda: load(1))
    assert len(cache) == 2  # the least recently used (7, 1) went
    cache.get(7, 1, lambda: load(1))
    assert loads == [1, 2, 1, 1]


def test_due_times_past_what_datetime_can_hold_are_refused() -> None:
    end_of_time = datetime(9999, 12, 31, 23, 0, tzinfo=UTC)
    with pytest.raises(BeyondHorizon):
        ALWAYS_OPEN.add_business_time(end_of_time, timedelta(days=1))
    with pytest.raises(BeyondHorizon):
        desk().add_business_time(datetime(9998, 12, 31, tzinfo=UTC), timedelta(days=30))
