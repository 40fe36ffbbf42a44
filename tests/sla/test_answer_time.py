"""The answer time a customer reads: in their language and zone, honest about a closed
desk, and said the way a person would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.sla.answer_time import stated_answer_time
from app.sla.calendar import ALWAYS_OPEN, BusinessCalendar, CalendarSpec, OpeningHours
from app.sla.calendar import compile_calendar as compile_

ROME = ZoneInfo("Europe/Rome")


def rome_desk() -> BusinessCalendar:
    return compile_(
        CalendarSpec(
            time_zone="Europe/Rome",
            hours=tuple(
                OpeningHours(day, opens, closes)
                for day in range(5)
                for opens, closes in ((540, 750), (840, 1080))
            ),
        )
    )


def test_friday_evening_in_english_and_italian() -> None:
    desk = rome_desk()
    now = datetime(2026, 3, 27, 17, 30, tzinfo=ROME)
    due = desk.add_business_time(now, timedelta(hours=1))
    english = stated_answer_time(due, now, desk, "en", "Europe/Rome")
    assert english.text == "We will answer by Monday at 9:30, Rome time."
    assert english.answer_by == datetime(2026, 3, 30, 9, 30, tzinfo=ROME)
    assert english.desk_opens_at is None
    italian = stated_answer_time(due, now, desk, "it", "Europe/Rome")
    assert italian.text == "Ti risponderemo entro lunedì alle 9:30 (ora di Roma)."


def test_a_closed_desk_says_so_and_when_it_opens() -> None:
    desk = rome_desk()
    now = datetime(2026, 3, 26, 19, 30, tzinfo=ROME)  # Thursday evening
    due = desk.add_business_time(now, timedelta(minutes=30))
    stated = stated_answer_time(due, now, desk, "en-GB", "Europe/Rome")
    assert stated.text == (
        "Our desk is closed until 9:00 tomorrow; we will answer by 9:30 tomorrow, Rome time."
    )
    assert stated.desk_opens_at == datetime(2026, 3, 27, 9, 0, tzinfo=ROME)
    italian = stated_answer_time(due, now, desk, "it", "Europe/Rome")
    assert italian.text == (
        "Il nostro servizio è chiuso e riapre domani alle 9:00; "
        "ti risponderemo entro domani alle 9:30 (ora di Roma)."
    )


def test_the_time_is_the_customers_own() -> None:
    desk = rome_desk()
    now = datetime(2026, 3, 27, 17, 30, tzinfo=ROME)
    due = desk.add_business_time(now, timedelta(hours=1))  # Monday 9:30 in Rome
    new_york = stated_answer_time(due, now, desk, "en", "America/New_York")
    assert new_york.text == "We will answer by Monday at 3:30, New York time."
    assert new_york.answer_by.utcoffset() == timedelta(hours=-4)
    assert stated_answer_time(due, now, desk, "it", "UTC").text == (
        "Ti risponderemo entro lunedì alle 7:30 (UTC)."
    )
    fixed = stated_answer_time(due, now, desk, "en", "Etc/GMT+5")  # POSIX: five hours west
    assert fixed.text == "We will answer by Monday at 2:30, UTC-05:00."


def test_around_the_clock() -> None:
    now = datetime(2026, 3, 26, 19, 30, tzinfo=ROME)
    soon = stated_answer_time(now + timedelta(hours=2), now, ALWAYS_OPEN, "en", "Europe/Rome")
    assert soon.text == "We are here around the clock: we will answer by 21:30 today, Rome time."
    assert soon.around_the_clock
    night = stated_answer_time(now + timedelta(hours=6), now, ALWAYS_OPEN, "it", "Europe/Rome")
    assert night.text == (
        "Siamo disponibili 24 ore su 24: ti risponderemo entro domani all'1:30 (ora di Roma)."
    )


def test_a_due_time_is_rounded_up_to_the_minute() -> None:
    now = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
    stated = stated_answer_time(now + timedelta(minutes=15, seconds=1), now, ALWAYS_OPEN)
    assert stated.answer_by == datetime(2026, 6, 1, 10, 16, tzinfo=ZoneInfo("UTC"))
    exact = stated_answer_time(now + timedelta(minutes=15), now, ALWAYS_OPEN)
    assert exact.answer_by == datetime(2026, 6, 1, 10, 15, tzinfo=ZoneInfo("UTC"))


@pytest.mark.parametrize(
    ("due", "english", "italian"),
    [
        (datetime(2026, 6, 4, 10, 0), "Thursday at 10:00", "giovedì alle 10:00"),
        (datetime(2026, 6, 8, 10, 0), "Monday 8 June at 10:00", "lunedì 8 giugno alle 10:00"),
        (datetime(2027, 2, 6, 9, 0), "Saturday 6 February 2027 at 9:00",
         "sabato 6 febbraio 2027 alle 9:00"),
    ],
)  # fmt: skip
def test_days_further_away_are_named_by_date(due: datetime, english: str, italian: str) -> None:
    now = datetime(2026, 6, 1, 10, 0, tzinfo=ROME)  # a Monday
    due = due.replace(tzinfo=ROME)
    assert english in stated_answer_time(due, now, ALWAYS_OPEN, "en", "Europe/Rome").text
    assert italian in stated_answer_time(due, now, ALWAYS_OPEN, "it", "Europe/Rome").text


def test_a_late_answer_is_announced_with_the_new_time() -> None:
    desk = rome_desk()
    now = datetime(2026, 6, 1, 11, 0, tzinfo=ROME)
    stated = stated_answer_time(
        now + timedelta(hours=4), now, desk, "en", "Europe/Rome", delay=True
    )
    assert stated.text == "We are sorry for the wait: we will now answer by 15:00 today, Rome time."


def test_other_languages_read_english_and_other_cities_keep_their_names() -> None:
    now = datetime(2026, 6, 1, 10, 0, tzinfo=ROME)
    stated = stated_answer_time(
        now + timedelta(hours=1), now, ALWAYS_OPEN, "pt-BR", "Europe/London"
    )
    assert stated.text.endswith("by 10:00 today, London time.")
    italian = stated_answer_time(now + timedelta(hours=1), now, ALWAYS_OPEN, "it", "Europe/London")
    assert italian.text.endswith("(ora di Londra).")
