"""A ticket's SLA clock: due times on the calendar, paused while the desk waits on the
customer, re-armed by their messages, moved by a new priority."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.sla import clock
from app.sla.calendar import BusinessCalendar, CalendarSpec, OpeningHours, compile_calendar
from app.sla.clock import SlaClock, Targets
from tests.sla.strategies import calendars

ROME = ZoneInfo("Europe/Rome")
HOUR = timedelta(hours=1)
MEDIUM = Targets(first_response=4 * HOUR, next_response=2 * HOUR, resolution=24 * HOUR)
HIGH = Targets(first_response=HOUR, next_response=HOUR, resolution=8 * HOUR)


def rome(*args: int) -> datetime:
    return datetime(*args, tzinfo=ROME)  # type: ignore[misc]


def desk() -> BusinessCalendar:
    return compile_calendar(
        CalendarSpec(
            time_zone="Europe/Rome",
            hours=tuple(
                OpeningHours(day, opens, closes)
                for day in range(5)
                for opens, closes in ((540, 750), (840, 1080))
            ),
        )
    )


def test_a_new_ticket_gets_first_response_and_resolution_due_times() -> None:
    created = rome(2026, 6, 1, 10, 0)  # Monday
    started = clock.start(desk(), created, MEDIUM)
    assert started.first_response_due_at == rome(2026, 6, 1, 15, 30)
    assert started.resolution_due_at == rome(2026, 6, 4, 11, 30)  # 6.5 + 7.5 + 7.5 + 2.5 hours
    assert started.next_response_due_at is None
    assert not started.is_paused


def test_a_pause_pushes_due_times_out_by_the_business_time_it_lasted() -> None:
    calendar = desk()
    started = clock.start(calendar, rome(2026, 6, 1, 10, 0), MEDIUM)
    paused = clock.pause(started, rome(2026, 6, 1, 11, 0))
    assert paused.is_paused
    assert clock.pause(paused, rome(2026, 6, 1, 12, 0)) == paused  # already paused
    resumed = clock.resume(paused, calendar, rome(2026, 6, 2, 11, 0))
    # Paused for 11:00-18:00 and 09:00-11:00: 7.5 business hours, one working day.
    assert resumed.paused == timedelta(hours=7.5)
    assert resumed.first_response_due_at == rome(2026, 6, 2, 15, 30)
    assert resumed.resolution_due_at == rome(2026, 6, 5, 11, 30)
    assert not resumed.is_paused
    assert clock.resume(resumed, calendar, rome(2026, 6, 3, 9, 0)) == resumed  # not paused


def test_a_pause_outside_opening_hours_moves_nothing() -> None:
    calendar = desk()
    started = clock.start(calendar, rome(2026, 6, 1, 10, 0), MEDIUM)
    paused = clock.pause(started, rome(2026, 6, 1, 19, 0))
    resumed = clock.resume(paused, calendar, rome(2026, 6, 2, 8, 0))
    assert resumed.due_times() == started.due_times()
    assert resumed.paused == timedelta(0)


def test_a_breach_before_the_pause_stands() -> None:
    calendar = desk()
    started = clock.start(calendar, rome(2026, 6, 1, 10, 0), MEDIUM)
    late = clock.pause(started, rome(2026, 6, 1, 16, 0))  # first response due at 15:30
    resumed = clock.resume(late, calendar, rome(2026, 6, 2, 16, 0))
    assert resumed.first_response_due_at == started.first_response_due_at
    assert resumed.resolution_due_at == rome(2026, 6, 5, 11, 30)


def test_customer_messages_arm_the_next_response_once_until_answered() -> None:
    calendar = desk()
    started = clock.start(calendar, rome(2026, 6, 1, 10, 0), MEDIUM)
    waiting = clock.customer_wrote(started, calendar, rome(2026, 6, 1, 17, 0), MEDIUM)
    assert waiting.next_response_due_at == rome(2026, 6, 2, 10, 0)
    again = clock.customer_wrote(waiting, calendar, rome(2026, 6, 2, 9, 30), MEDIUM)
    assert again.next_response_due_at == rome(2026, 6, 2, 10, 0)  # waits since the first
    answered = clock.staff_replied(again)
    assert answered.next_response_due_at is None
    rearmed = clock.customer_wrote(answered, calendar, rome(2026, 6, 2, 11, 0), MEDIUM)
    assert rearmed.next_response_due_at == rome(2026, 6, 2, 14, 30)
    no_target = Targets(first_response=HOUR)
    assert clock.customer_wrote(answered, calendar, rome(2026, 6, 2, 11, 0), no_target) == answered
    with pytest.raises(ValueError, match="resume"):
        clock.customer_wrote(clock.pause(answered, rome(2026, 6, 2, 12, 0)), calendar,
                             rome(2026, 6, 2, 13, 0), MEDIUM)  # fmt: skip


def test_a_new_priority_recomputes_from_creation_and_moves_the_next_response() -> None:
    calendar = desk()
    created = rome(2026, 6, 1, 10, 0)
    started = clock.start(calendar, created, MEDIUM)
    waiting = clock.customer_wrote(started, calendar, rome(2026, 6, 1, 11, 0), MEDIUM)
    assert waiting.next_response_due_at == rome(2026, 6, 1, 14, 30)
    raised = clock.retarget(waiting, calendar, created, MEDIUM, HIGH)
    assert raised.first_response_due_at == rome(2026, 6, 1, 11, 0)
    assert raised.resolution_due_at == rome(2026, 6, 2, 10, 30)
    assert raised.next_response_due_at == rome(2026, 6, 1, 12, 0)  # one hour sooner
    lowered = clock.retarget(raised, calendar, created, HIGH, MEDIUM)
    assert lowered.due_times() == waiting.due_times()
    untracked = clock.retarget(waiting, calendar, created, MEDIUM, Targets(resolution=HOUR))
    assert untracked.due_times() == (None, None, rome(2026, 6, 1, 11, 0))


def test_remaining_time_counts_business_time_and_freezes_while_paused() -> None:
    calendar = desk()
    started = clock.start(calendar, rome(2026, 6, 1, 10, 0), MEDIUM)
    due = started.first_response_due_at
    assert due is not None
    assert clock.remaining(started, calendar, due, rome(2026, 6, 1, 12, 0)) == 2 * HOUR
    assert clock.remaining(started, calendar, due, rome(2026, 6, 1, 16, 0)) == -0.5 * HOUR
    paused = clock.pause(started, rome(2026, 6, 1, 11, 0))
    assert clock.remaining(paused, calendar, due, rome(2026, 6, 3, 9, 0)) == 3 * HOUR


def test_the_warning_comes_when_most_of_the_target_has_gone() -> None:
    calendar = desk()
    due = rome(2026, 6, 1, 15, 30)
    assert clock.warning_at(calendar, due, 4 * HOUR, 0.75) == rome(2026, 6, 1, 14, 30)
    assert clock.warning_at(calendar, due, 4 * HOUR, 0.5) == rome(2026, 6, 1, 12, 0)


durations = st.integers(1, 60 * 60).map(lambda minutes: timedelta(minutes=minutes))
targets = st.integers(1, 4 * 7 * 24 * 60)
moments = st.datetimes(datetime(2020, 1, 1), datetime(2030, 1, 1), timezones=st.just(UTC))


@settings(max_examples=200, deadline=None)
@given(st.data(), moments, targets, st.lists(st.tuples(durations, durations), max_size=3))
def test_pushing_out_by_pauses_equals_counting_the_pauses_from_creation(
    data: st.DataObject,
    created: datetime,
    target_minutes: int,
    pauses: list[tuple[timedelta, timedelta]],
) -> None:
    """Whatever the pauses, a due time that never passed during one is where the target
    plus the business time spent paused, counted from creation, ends."""
    calendar, naive = data.draw(calendars(created))
    weekly = sum(closes - opens for day in naive.hours.values() for opens, closes in day)
    target = timedelta(minutes=min(target_minutes, 4 * weekly))  # within the horizon
    state = clock.start(calendar, created, Targets(resolution=target))
    moment = created
    for running, paused in pauses:
        moment += running
        due = state.resolution_due_at
        assert due is not None
        if due <= moment:
            return  # passed before this pause: it stays, which another test shows
        state = clock.pause(state, moment)
        moment += paused
        state = clock.resume(state, calendar, moment)
    assert state.resolution_due_at == calendar.add_business_time(created, target + state.paused)
    assert state == SlaClock(resolution_due_at=state.resolution_due_at, paused=state.paused)


def test_the_soonest_due_time_is_the_one_still_to_be_met() -> None:
    calendar = desk()
    started = clock.start(calendar, rome(2026, 6, 1, 10, 0), MEDIUM)
    waiting = clock.customer_wrote(started, calendar, rome(2026, 6, 1, 17, 0), MEDIUM)
    assert clock.soonest_due(waiting, answered=False, resolved=False) == rome(2026, 6, 1, 15, 30)
    assert clock.soonest_due(waiting, answered=True, resolved=False) == rome(2026, 6, 2, 10, 0)
    replied = clock.staff_replied(waiting)
    assert clock.soonest_due(replied, answered=True, resolved=False) == rome(2026, 6, 4, 11, 30)
    assert clock.soonest_due(replied, answered=True, resolved=True) is None
