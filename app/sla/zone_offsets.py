"""A time zone's UTC offsets as plain integers: what the business calendar counts with.

Instants are microseconds since the Unix epoch (UTC), offsets are microseconds east of
UTC. zoneinfo answers "what is the offset at this instant", but not "when does the
offset change", which is what turning wall-clock opening hours into UTC intervals
needs on the nights clocks change. `transitions` finds the changes of one UTC year by
asking zoneinfo for the offset at every UTC midnight and narrowing each change to its
second; a zone-year is probed once per process (about 0.3 ms) and remembered.

Assumption, true of every zone in the tz database since 1900: the offset does not
change twice within 24 hours. Two changes that cancel out within one day would go
unseen.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

SECOND_US = 1_000_000
DAY_US = 86_400 * SECOND_US
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_ONE_US = timedelta(microseconds=1)
# Years whose instants datetime can represent with a day to spare on either side.
FIRST_YEAR, LAST_YEAR = 2, 9998

Segment = tuple[int, int, int]  # start, end (exclusive), offset: all microseconds


def offset_at(zone: ZoneInfo, instant: int) -> int:
    """The zone's UTC offset at an instant, in microseconds. Offsets change on whole
    seconds, so the second the instant falls in decides."""
    offset = datetime.fromtimestamp(instant // SECOND_US, zone).utcoffset()
    assert offset is not None  # a ZoneInfo always has one
    return offset // _ONE_US


def day_start(ordinal: int) -> int:
    """Midnight UTC of a proleptic Gregorian ordinal, as an instant."""
    return (ordinal - EPOCH_ORDINAL) * DAY_US


@lru_cache(maxsize=4096)
def transitions(zone_key: str, year: int) -> tuple[tuple[int, int], ...]:
    """The instants in a UTC year at which the zone's offset changes, each with the
    offset from then on."""
    zone = ZoneInfo(zone_key)
    first = date(year, 1, 1).toordinal()
    last = date(year + 1, 1, 1).toordinal()
    found: list[tuple[int, int]] = []
    previous = offset_at(zone, day_start(first))
    for ordinal in range(first + 1, last + 1):
        probe = day_start(ordinal)
        offset = offset_at(zone, probe)
        if offset != previous:
            found.append((_change_between(zone, probe - DAY_US, probe, offset), offset))
            previous = offset
    return tuple(found)


def _change_between(zone: ZoneInfo, before: int, after: int, new_offset: int) -> int:
    """The first second in (before, after] at which the offset is new_offset: offsets
    change on whole seconds, so a binary search over seconds finds the exact instant."""
    low, high = before // SECOND_US, after // SECOND_US  # offset(low) is the old one
    while high - low > 1:
        middle = (low + high) // 2
        if offset_at(zone, middle * SECOND_US) == new_offset:
            high = middle
        else:
            low = middle
    return high * SECOND_US


def utc_year(instant: int) -> int:
    return date.fromordinal(EPOCH_ORDINAL + instant // DAY_US).year


def segments(zone: ZoneInfo, start: int, end: int) -> list[Segment]:
    """[start, end) cut where the offset changes: (start, end, offset) pieces in order."""
    pieces: list[Segment] = []
    offset = offset_at(zone, start)
    for year in range(utc_year(start), utc_year(end - 1) + 1):
        for instant, after in transitions(zone.key, year):
            if start < instant < end:
                pieces.append((start, instant, offset))
                start, offset = instant, after
    pieces.append((start, end, offset))
    return pieces
