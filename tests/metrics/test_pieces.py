"""How a window is cut into monthly, daily and hourly rollup rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from app.metrics.rollups import pieces
from app.metrics.store import buckets

HOUR = timedelta(hours=1)
hours = st.integers(min_value=0, max_value=3 * 366 * 24).map(
    lambda n: datetime(2024, 1, 1, tzinfo=UTC) + n * HOUR
)


def _grain_of(at: datetime) -> str:
    """The coarsest grain an hour boundary starts."""
    if at.hour:
        return "h"
    return "d" if at.day > 1 else "m"


@given(hours, hours, st.sampled_from(["h", "d", "m"]))
def test_the_pieces_cover_the_window_once_and_each_hour_is_read_at_its_bucket(
    a: datetime, b: datetime, coarsest: str
) -> None:
    start, end = min(a, b), max(a, b)
    parts = pieces(start, end, coarsest=coarsest)
    # Contiguous, in order, exactly [start, end).
    edges = [start] + [p[2] for p in parts]
    assert [p[1] for p in parts] == edges[:-1]
    assert edges[-1] == end
    order = {"h": 0, "d": 1, "m": 2}
    for grain, low, high in parts:
        assert order[grain] <= order[coarsest]
        # A piece of a grain starts and ends on that grain's boundaries, so the rows it
        # reads (the buckets an event is counted in) hold only hours inside it.
        assert order[_grain_of(low)] >= order[grain]
        assert high == end or order[_grain_of(high)] >= order[grain]
        if grain != "h":
            assert order[_grain_of(high)] >= order[grain]


@given(hours, hours, st.sampled_from(["h", "d", "m"]), hours)
def test_an_hour_inside_the_window_is_counted_by_exactly_one_piece(
    a: datetime, b: datetime, coarsest: str, moment: datetime
) -> None:
    start, end = min(a, b), max(a, b)
    grains = dict(buckets(moment + timedelta(minutes=17)))
    reading = [
        (grain, low, high)
        for grain, low, high in pieces(start, end, coarsest=coarsest)
        if low <= grains[grain] < high
    ]
    assert len(reading) == (1 if start <= moment < end else 0)


def test_a_year_reads_about_a_dozen_months() -> None:
    start = datetime(2025, 12, 1, 7, tzinfo=UTC)
    end = datetime(2026, 12, 1, 5, tzinfo=UTC)
    parts = pieces(start, end)
    assert [p[0] for p in parts] == ["h", "d", "m", "h"]
    assert parts[2][1:] == (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
    mid_month = pieces(start, end + timedelta(days=9))
    assert [p[0] for p in mid_month] == ["h", "d", "m", "d", "h"]
    assert [p[0] for p in pieces(start, end, coarsest="d")] == ["h", "d", "h"]
