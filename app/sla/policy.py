"""Service level targets: when the first response and the resolution are due.

Targets depend on priority and are counted in wall-clock time from creation (a
business-hours calendar is a later refinement). They are stored on the ticket when it
is created and recomputed when its priority changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.models import Priority

# Minutes to first response and to resolution per priority.
_TARGETS: dict[Priority, tuple[int, int]] = {
    Priority.CRITICAL: (15, 4 * 60),
    Priority.HIGH: (60, 8 * 60),
    Priority.MEDIUM: (4 * 60, 24 * 60),
    Priority.LOW: (8 * 60, 3 * 24 * 60),
    Priority.PLANNING: (24 * 60, 14 * 24 * 60),
}


@dataclass(frozen=True, slots=True)
class SlaDue:
    first_response_due_at: datetime
    resolution_due_at: datetime


def targets(priority: Priority) -> tuple[timedelta, timedelta]:
    """The time a ticket of this priority allows to the first response and to resolution."""
    first, resolve = _TARGETS[priority]
    return timedelta(minutes=first), timedelta(minutes=resolve)


def due_dates(priority: Priority, created_at: datetime) -> SlaDue:
    first, resolve = targets(priority)
    return SlaDue(first_response_due_at=created_at + first, resolution_due_at=created_at + resolve)
