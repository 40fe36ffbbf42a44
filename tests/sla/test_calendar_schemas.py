"""Calendars as the API takes them: what is accepted, normalized and refused, and why."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from app.sla.calendar import CalendarSpec, OpeningHours
from app.sla.calendar_schemas import CalendarIn, calendar_spec


def rome_office(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Rome office",
        "time_zone": "Europe/Rome",
        "hours": [
            {"weekday": "mon", "opens": "09:00", "closes": "12:30"},
            {"weekday": 0, "opens": "14:00", "closes": "18:00"},
            {"weekday": "Friday", "opens": "09:00", "closes": "24:00"},
        ],
        "holidays": [
            {"date": "2026-04-06", "name": "Easter Monday"},
            {"month": 12, "day": 25, "yearly": True, "name": "Christmas"},
        ],
    }
    return body | changes


def refusal(body: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        CalendarIn.model_validate(body)
    return str(caught.value)


def test_a_calendar_is_read_into_minutes_and_dates() -> None:
    calendar = CalendarIn.model_validate(rome_office())
    assert [hours.weekday for hours in calendar.hours] == ["mon", "mon", "fri"]
    assert calendar.to_spec() == CalendarSpec(
        time_zone="Europe/Rome",
        hours=(
            OpeningHours(0, 540, 750),
            OpeningHours(0, 840, 1080),
            OpeningHours(4, 540, 1440),
        ),
        holidays=frozenset({date(2026, 4, 6)}),
        yearly_holidays=frozenset({(12, 25)}),
    )


def test_what_is_stored_reads_back_as_the_same_calendar() -> None:
    calendar = CalendarIn.model_validate(rome_office())
    stored = calendar.model_dump(mode="json")
    assert stored["hours"][1] == {"weekday": "mon", "opens": "14:00", "closes": "18:00"}
    assert stored["holidays"][1] == {"month": 12, "day": 25, "yearly": True, "name": "Christmas"}
    assert calendar_spec("Europe/Rome", False, stored["hours"], stored["holidays"]) == (
        calendar.to_spec()
    )


def test_round_the_clock_needs_nothing_else() -> None:
    calendar = CalendarIn.model_validate({"name": "24/7", "time_zone": "UTC", "always_open": True})
    assert calendar.to_spec().always_open


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        ({"weekday": "mon", "opens": "24:00", "closes": "24:00"}, "String should match"),
        ({"weekday": "mon", "opens": "9:00", "closes": "17:00"}, "String should match"),
        ({"weekday": "mon", "opens": "09:00", "closes": "24:01"}, "String should match"),
        ({"weekday": "mon", "opens": "09:00", "closes": "25:00"}, "String should match"),
        ({"weekday": "mon", "opens": "18:00", "closes": "09:00"}, "two intervals"),
        ({"weekday": "mon", "opens": "09:00", "closes": "09:00"}, "must come after"),
        ({"weekday": 7, "opens": "09:00", "closes": "17:00"}, "weekday"),
        ({"weekday": True, "opens": "09:00", "closes": "17:00"}, "weekday"),
        ({"weekday": "lun", "opens": "09:00", "closes": "17:00"}, "weekday"),
        ({"weekday": "mon", "opens": 900, "closes": "17:00"}, "string"),
        ({"weekday": "mon", "opens": "09:00\x00", "closes": "17:00"}, "String should match"),
        ({"weekday": "mon", "opens": "09:00", "closes": "17:00", "tz": "X"}, "Extra"),
    ],
)
def test_bad_opening_hours_are_refused(hours: dict[str, Any], message: str) -> None:
    assert message in refusal(rome_office(hours=[hours]))


def test_overlapping_hours_are_refused_and_touching_ones_accepted() -> None:
    overlapping = [
        {"weekday": "tue", "opens": "09:00", "closes": "13:00"},
        {"weekday": "tue", "opens": "12:00", "closes": "18:00"},
    ]
    assert "overlap on tue: 09:00-13:00 and 12:00-18:00" in refusal(rome_office(hours=overlapping))
    touching = [
        {"weekday": "tue", "opens": "09:00", "closes": "13:00"},
        {"weekday": "tue", "opens": "13:00", "closes": "18:00"},
    ]
    CalendarIn.model_validate(rome_office(hours=touching))


def test_a_calendar_that_never_opens_is_refused() -> None:
    assert "give the opening hours, or always_open" in refusal(rome_office(hours=[]))
    assert "takes no hours" in refusal(rome_office(always_open=True))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"time_zone": "Europe/Atlantis"}, "unknown time zone"),
        ({"time_zone": "+01:00"}, "unknown time zone"),
        ({"name": "Rome\x00"}, "NUL"),
        ({"name": ""}, "at least 1 character"),
        ({"always_open": "yes"}, "valid boolean"),
        (
            {"hours": [{"weekday": "wed", "opens": f"{h:02d}:00", "closes": f"{h:02d}:30"}
                       for h in range(7)]},
            "at most 6 intervals on wed",
        ),
    ],
)  # fmt: skip
def test_bad_calendars_are_refused(changes: dict[str, Any], message: str) -> None:
    assert message in refusal(rome_office(**changes))


@pytest.mark.parametrize(
    ("holiday", "message"),
    [
        ({"date": "2026-4-6"}, "YYYY-MM-DD"),
        ({"date": 1775433600}, "YYYY-MM-DD"),
        ({"date": "2026-04-06T00:00:00"}, "YYYY-MM-DD"),
        ({"date": "2026-02-30"}, "date"),
        ({"date": "1900-01-01"}, "between 1970-01-01 and 2200-12-31"),
        ({"month": 2, "day": 30, "yearly": True}, "no day 30 in month 2"),
        ({"month": 13, "day": 1, "yearly": True}, "less than or equal to 12"),
        ({"month": 1, "day": 1}, "yearly"),
        ({"month": 1.0, "day": 1, "yearly": True}, "integer"),
        ({"month": 1, "day": 1, "yearly": False}, "yearly"),
        ({"date": "2026-04-06", "name": "Pasquetta\x00"}, "NUL"),
    ],
)
def test_bad_holidays_are_refused(holiday: dict[str, Any], message: str) -> None:
    assert message in refusal(rome_office(holidays=[holiday]))


def test_leap_day_is_a_yearly_holiday_and_duplicates_are_refused() -> None:
    CalendarIn.model_validate(rome_office(holidays=[{"month": 2, "day": 29, "yearly": True}]))
    twice = [{"date": "2026-04-06"}, {"date": "2026-04-06", "name": "again"}]
    assert "2026-04-06 is listed twice" in refusal(rome_office(holidays=twice))
    yearly_twice = [{"month": 8, "day": 15, "yearly": True}] * 2
    assert "08-15 (yearly) is listed twice" in refusal(rome_office(holidays=yearly_twice))


def test_holidays_are_limited() -> None:
    many = [{"date": f"{2030 + n // 365}-01-01"} for n in range(501)]
    assert "at most 500 items" in refusal(rome_office(holidays=many))
