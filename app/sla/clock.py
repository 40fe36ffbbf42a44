"""Where a ticket's SLA clock stands, and how the ticket's events move it. Pure.

The clock is what the ticket row stores, so that the watcher only ever compares stored,
indexed due times with the time of day and never recomputes anything per pass:

    first_response_due_at, next_response_due_at, resolution_due_at  (timestamptz, null
        when the priority has no such target or, for the next response, when no
        customer message waits for an answer)
    sla_paused_since  (timestamptz, null while the clock runs)
    sla_paused_seconds  (business seconds spent paused so far, for recomputing and for
        metrics)

Moves, each a function from clock to clock that the SLA reaction applies in the
transaction that records the event, writing the result back to the row:

- `start`: a new ticket. First response and resolution are due `target` of business
  time after creation; the next response waits for a customer message.
- `pause` when the ticket goes to `pending` (waiting on the customer), `resume` on
  their reply or any move back to open: a pause pushes each due time that had not
  passed when the pause began out by the business time the pause lasted. While paused
  the stored due times are stale by design, so the watcher leaves paused tickets out
  (`sla_paused_since IS NULL` in its partial indexes).
- `customer_wrote`: arms the next response from that message, unless an earlier
  message is still unanswered (the customer waits since the first one).
- `staff_replied`: a public reply answers the customer; no next response is due. (The
  first response's fulfilment is the ticket's `first_response_at`, as today.)
- `retarget`: the priority, team or policy changed: first response and resolution are
  computed anew from creation (plus the pauses so far), the next response moves by
  the difference between the old and the new target.

Every due time is an instant in UTC from `BusinessCalendar` arithmetic, so it is exact
to the microsecond and moves consistently: pushing a due time out by a pause and
computing it afresh with the pause added give the same instant.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from app.sla.calendar import BusinessCalendar

ZERO = timedelta(0)


@dataclass(frozen=True, slots=True)
class Targets:
    """Business time a ticket's priority allows; None: not tracked."""

    first_response: timedelta | None = None
    next_response: timedelta | None = None
    resolution: timedelta | None = None


@dataclass(frozen=True, slots=True)
class SlaClock:
    first_response_due_at: datetime | None = None
    next_response_due_at: datetime | None = None
    resolution_due_at: datetime | None = None
    paused_since: datetime | None = None
    paused: timedelta = ZERO  # business time of the pauses that have ended

    @property
    def is_paused(self) -> bool:
        return self.paused_since is not None

    def due_times(self) -> tuple[datetime | None, datetime | None, datetime | None]:
        return self.first_response_due_at, self.next_response_due_at, self.resolution_due_at


def _due(calendar: BusinessCalendar, start: datetime, target: timedelta | None) -> datetime | None:
    return None if target is None else calendar.add_business_time(start, target)


def start(calendar: BusinessCalendar, created_at: datetime, targets: Targets) -> SlaClock:
    return SlaClock(
        first_response_due_at=_due(calendar, created_at, targets.first_response),
        resolution_due_at=_due(calendar, created_at, targets.resolution),
    )


def pause(clock: SlaClock, at: datetime) -> SlaClock:
    """Stop the clock (already stopped: nothing changes)."""
    return clock if clock.is_paused else replace(clock, paused_since=at)


def resume(clock: SlaClock, calendar: BusinessCalendar, at: datetime) -> SlaClock:
    """Restart the clock: due times still ahead when the pause began move out by the
    business time it lasted; those already passed stay (a breach is not undone)."""
    began = clock.paused_since
    if began is None:
        return clock
    spent = max(calendar.business_time_between(began, at), ZERO)

    def pushed(due: datetime | None) -> datetime | None:
        if due is None or due <= began or not spent:
            return due
        return calendar.add_business_time(due, spent)

    return SlaClock(
        first_response_due_at=pushed(clock.first_response_due_at),
        next_response_due_at=pushed(clock.next_response_due_at),
        resolution_due_at=pushed(clock.resolution_due_at),
        paused_since=None,
        paused=clock.paused + spent,
    )


def customer_wrote(
    clock: SlaClock, calendar: BusinessCalendar, at: datetime, targets: Targets
) -> SlaClock:
    """A customer message to be answered; resume the clock first if it was paused."""
    if clock.is_paused:
        raise ValueError("a customer message ends the pause: resume the clock first")
    if targets.next_response is None or clock.next_response_due_at is not None:
        return clock
    return replace(clock, next_response_due_at=_due(calendar, at, targets.next_response))


def staff_replied(clock: SlaClock) -> SlaClock:
    return replace(clock, next_response_due_at=None)


def retarget(
    clock: SlaClock,
    calendar: BusinessCalendar,
    created_at: datetime,
    old: Targets,
    new: Targets,
) -> SlaClock:
    """New targets (priority, team or policy changed), possibly on another calendar.

    First response and resolution: as if the new target had applied from creation, the
    pauses so far included. The next response: moved by the change in its target, or
    dropped when the new targets have none (re-armed by the next customer message when
    they have one and the old ones had none)."""

    def from_creation(target: timedelta | None) -> datetime | None:
        return _due(calendar, created_at, None if target is None else target + clock.paused)

    next_due = clock.next_response_due_at
    if next_due is not None and new.next_response is None:
        next_due = None
    elif next_due is not None and old.next_response is not None:
        assert new.next_response is not None
        next_due = moved(calendar, next_due, new.next_response - old.next_response)
    return replace(
        clock,
        first_response_due_at=from_creation(new.first_response),
        next_response_due_at=next_due,
        resolution_due_at=from_creation(new.resolution),
    )


def moved(calendar: BusinessCalendar, due: datetime, change: timedelta) -> datetime:
    """A due time later (change > 0) or earlier by business time."""
    if change >= ZERO:
        return calendar.add_business_time(due, change)
    return calendar.subtract_business_time(due, -change)


def remaining(
    clock: SlaClock, calendar: BusinessCalendar, due: datetime, now: datetime
) -> timedelta:
    """Business time left until `due`; negative once it has passed. Frozen while the
    clock is paused: what was left when the pause began."""
    return calendar.business_time_between(clock.paused_since or now, due)


def soonest_due(clock: SlaClock, *, answered: bool, resolved: bool) -> datetime | None:
    """The due time a ticket is racing now: the first response until it is given, each
    next response while one waits, the resolution until it is reached."""
    candidates = [
        clock.first_response_due_at if not answered else None,
        clock.next_response_due_at,
        clock.resolution_due_at if not resolved else None,
    ]
    return min((due for due in candidates if due is not None), default=None)


def warning_at(
    calendar: BusinessCalendar, due: datetime, target: timedelta, warning_ratio: float
) -> datetime:
    """When `warning_ratio` of the target's business time has gone: the moment to warn
    the owner, and to tell the customer before the time stated to them passes."""
    return calendar.subtract_business_time(due, target * (1 - warning_ratio))
