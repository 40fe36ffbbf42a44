"""What every figure of the desk means, in one place (docs/metrics.md says it in prose).

Every figure is a function of the timeline (`ticket_events`): `app/metrics/facts.py`
folds a ticket's events, in order, into the counts below, attributed to the hour (and
the UTC day) the deciding event happened in and to the ticket's dimensions at that
moment (team, owner, channel, category, priority, tags). Durations are whole seconds,
rounded down, of business time on the calendar of the ticket's SLA policy in force
when the duration ends (the time its desk was open: app/sla/calendar.py); wall-clock
seconds for a 24/7 calendar, a ticket under no policy or a policy since removed. The
policy is on the timeline: `ticket.created` names it (`sla_policy_id`), and a
`ticket.updated` whose changes hold `sla_policy_id` moves the ticket to another.

- **created**: tickets filed (`ticket.created`).
- **first response time (FRT)**: creation to the first public message by staff
  (`message.created`, public, author_role agent/supervisor/admin); counted when that
  reply is written.
- **next response time**: after the first response, each time a public customer message
  waits, from the earliest waiting one to the next public staff reply.
- **time to resolve (TTR)**: creation to the ticket's first move to `resolved`.
- **resolved**: every move to `resolved`; per agent, the owner at that moment: the
  requests the agent **handled**.
- **first-contact resolution (FCR)**: among first resolutions, the share of tickets with
  at most one public staff reply and never reopened. Later replies or a reopening take a
  ticket out of the FCR count of the hour it was first resolved in.
- **reopen rate**: among first resolutions, the share reopened since (a move from
  `resolved`/`closed` back to an open status), counted in the hour of first resolution.
- **CSAT**: among answered surveys (`feedback.received`, source `survey`), the share
  rated 4 or 5. **Response rate**: answered surveys / surveys sent, one survey being sent
  per move to `resolved` made by someone (app/feedback/invitations.py).
- **SLA compliance**: among first resolutions, the share of tickets that had no
  `sla.breached` before that resolution. **Breaches**: `sla.breached` events.
- **backlog**: tickets open (new, open, pending) at an instant: the running sum of
  +1 on filing/reopening and -1 on resolving/closing, moved between dimensions when a
  ticket changes owner, team, category, priority or tags while open.
- **load**: an agent's open tickets now.
- **handovers**: owner changes of a ticket that already had an owner, by their reason
  (attributed to the owner handing over).
- **complaints / suggestions**: `feedback.received` of kind complaint / suggestion, by
  the ticket's category.

Times are summarised by mean (exact), and median and p90 read from a log-scale
histogram: the value reported is the upper edge of the bin holding the nearest-rank
percentile, never more than 10 % above the true value (`BIN_EDGES`).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass

OPEN_STATUSES = frozenset({"new", "open", "pending"})
CLOSED_STATUSES = frozenset({"resolved", "closed"})
STAFF_AUTHOR_ROLES = frozenset({"agent", "supervisor", "admin"})
POSITIVE_RATING = 4  # CSAT counts ratings of 4 and 5 (of 1..5) as satisfied
FCR_MAX_REPLIES = 1


def _edges() -> tuple[int, ...]:
    """Upper edges of the duration bins, in seconds: 0, 1, 2, ... then growing by 10 %
    a bin, up to past two years. Bin `i` holds durations in (edges[i-1], edges[i]]."""
    edges: list[int] = [0]
    value = 1.0
    while edges[-1] < 2 * 366 * 86400:
        value *= 1.1
        edge = max(edges[-1] + 1, math.ceil(value))
        edges.append(edge)
    return tuple(edges)


BIN_EDGES: tuple[int, ...] = _edges()


def bin_of(seconds: int) -> int:
    """The histogram bin of a duration (anything beyond the last edge goes in the last)."""
    return min(bisect_left(BIN_EDGES, max(seconds, 0)), len(BIN_EDGES) - 1)


def percentile_from_histogram(histogram: Sequence[int], share: float) -> int | None:
    """Nearest-rank percentile: the upper edge of the bin holding the ceil(share*n)-th
    smallest duration."""
    total = sum(histogram)
    if total == 0:
        return None
    rank = max(1, math.ceil(share * total))
    running = 0
    for index, count in enumerate(histogram):
        running += count
        if running >= rank:
            return BIN_EDGES[index]
    return BIN_EDGES[len(histogram) - 1]  # pragma: no cover - running reaches total


@dataclass(frozen=True, slots=True)
class Durations:
    """A summary of durations in seconds: how many, mean, median, p90."""

    count: int
    mean: float | None
    median: int | None
    p90: int | None

    @classmethod
    def of(cls, count: int, total: int, histogram: Sequence[int]) -> Durations:
        if count == 0:
            return cls(0, None, None, None)
        return cls(
            count,
            round(total / count, 3),
            percentile_from_histogram(histogram, 0.5),
            percentile_from_histogram(histogram, 0.9),
        )

    @classmethod
    def of_values(cls, values: Sequence[int]) -> Durations:
        """The same summary from the durations themselves (what a recomputation uses)."""
        histogram = [0] * len(BIN_EDGES)
        for value in values:
            histogram[bin_of(value)] += 1
        return cls.of(len(values), sum(values), histogram)


def rate(numerator: int, denominator: int) -> float | None:
    """A share, rounded to 4 places; None when there is nothing to divide."""
    return None if denominator == 0 else round(numerator / denominator, 4)


# The rollup's counters: what the metrics tables sum. Time metrics have a count, a sum
# and a histogram each (`<name>_n`, `<name>_sum`, `<name>_hist`).
COUNTERS: tuple[str, ...] = (
    "created",
    "resolved",
    "first_resolved",
    "fcr",
    "reopened",
    "reopens",
    "surveys",
    "csat_answered",
    "csat_positive",
    "sla_ok",
    "breaches",
    "open_delta",
    "handovers",
    "complaints",
    "suggestions",
)
TIMES: tuple[str, ...] = ("frt", "nrt", "ttr")

# Dimensions a figure can be filtered or grouped by, as the rollup names them.
DIMENSIONS: tuple[str, ...] = ("team", "agent", "channel", "category", "priority", "tag")
ALL = "*"
