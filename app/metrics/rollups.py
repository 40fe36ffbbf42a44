"""Reading the rollups: sums over a window, per dimension value or per time bucket.

A window is read at hour resolution: the whole UTC months inside it from the monthly
rows, the whole days at their edges from the daily rows, the hours at the window's edges
from the hourly rows, so a year costs at most about 12 + 60 + 48 rows per dimension
value, not 8,760 (app/models/metrics.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Subquery,
    and_,
    false,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from app.metrics.definitions import COUNTERS, TIMES
from app.metrics.reactions import DELTAS, ROLLUPS

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def floor_hour(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def ceil_hour(at: datetime) -> datetime:
    floored = floor_hour(at)
    return floored if floored == at else floored + HOUR


def _floor_day(at: datetime) -> datetime:
    return at.replace(hour=0)


def _ceil_day(at: datetime) -> datetime:
    floored = _floor_day(at)
    return floored if floored == at else floored + DAY


def _floor_month(day: datetime) -> datetime:
    return day.replace(day=1)


def _ceil_month(day: datetime) -> datetime:
    floored = _floor_month(day)
    if floored == day:
        return floored
    return (floored.replace(day=28) + timedelta(days=4)).replace(day=1)


@dataclass(frozen=True, slots=True)
class Window:
    """[start, end) in UTC, whole hours."""

    start: datetime
    end: datetime

    @classmethod
    def of(cls, start: datetime, end: datetime) -> Window:
        return cls(floor_hour(start), ceil_hour(end))


Piece = tuple[str, datetime, datetime]  # grain, from, to


def pieces(start: datetime, end: datetime, *, coarsest: str = "m") -> list[Piece]:
    """Pieces covering [start, end) (whole hours, UTC): whole months where they fit, whole
    days at their edges, hours at the edges of those; no grain coarser than `coarsest`
    (a series by day must read days: `h`, `d` or `m`)."""
    if start >= end:
        return []
    first_day, last_day = _ceil_day(start), _floor_day(end)
    if coarsest == "h" or first_day >= last_day:
        return [("h", start, end)]
    days: list[Piece] = [("d", first_day, last_day)]
    first_month, last_month = _ceil_month(first_day), _floor_month(last_day)
    if coarsest == "m" and first_month < last_month:
        days = [("d", first_day, first_month), ("m", first_month, last_month)]
        days.append(("d", last_month, last_day))
    parts = [("h", start, first_day), *days, ("h", last_day, end)]
    return [p for p in parts if p[1] < p[2]]


def _union() -> Subquery:
    names = [column.name for column in ROLLUPS.c]
    return union_all(
        select(*(ROLLUPS.c[n] for n in names)), select(*(DELTAS.c[n] for n in names))
    ).subquery("r")


# The rollups plus the deltas not yet compacted into them (app/metrics/compaction.py):
# PostgreSQL pushes each query's conditions into both, each read by its index. Built
# once: making its column collection anew took a millisecond per query.
_SOURCE = _union()


def _in(parts: Sequence[Piece], c: Any) -> ColumnElement[bool]:
    if not parts:
        return false()
    return or_(*(and_(c.grain == g, c.bucket >= lo, c.bucket < hi) for g, lo, hi in parts))


def _sums(c: Any, names: Sequence[str]) -> list[Any]:
    columns: list[Any] = [func.coalesce(func.sum(c[n]), 0).label(n) for n in names]
    return columns


def sum_columns(c: Any) -> list[Any]:
    """Every counter, count and sum, summed (the histograms: `_histograms`)."""
    columns = _sums(c, COUNTERS)
    for name in TIMES:
        columns.extend(_sums(c, (f"{name}_n", f"{name}_sum")))
    return columns


async def _histograms(
    session: AsyncSession, src: Subquery, where: Sequence[ColumnElement[bool]], by_value: bool
) -> dict[tuple[str, str], list[int]]:
    """The histograms summed element by element, per (time, value): one set-based pass
    that unnests the three arrays of a row side by side, rather than an aggregate
    function called once per row or a pass per array."""
    c = src.c
    cells = (
        func.unnest(*(c[f"{name}_hist"] for name in TIMES))
        .table_valued(*TIMES, with_ordinality="i")
        .render_derived()
    )
    group = c.val if by_value else literal("")
    query = (
        select(group.label("val"), cells.c.i, *(func.sum(cells.c[name]) for name in TIMES))
        .select_from(src.join(cells, true()))
        .where(*where)
        .group_by(group, cells.c.i)
    )
    found: dict[tuple[str, str], list[int]] = {}
    for val, index, *counts in await session.execute(query):
        for name, n in zip(TIMES, counts, strict=True):
            if not n:
                continue
            hist = found.setdefault((name, val), [])
            if len(hist) < index:
                hist.extend([0] * (index - len(hist)))
            hist[index - 1] += int(n)
    return found


async def totals(
    session: AsyncSession, dim: str, val: str | None, window: Window
) -> dict[str, Any]:
    """Every count over the window for one dimension value (`*` for all)."""
    src = _SOURCE
    c = src.c
    where = [c.dim == dim, c.sub == "", _in(pieces(window.start, window.end), c)]
    if val is not None:
        where.append(c.val == val)
    row = dict((await session.execute(select(*sum_columns(c)).where(*where))).one()._mapping)
    hists = await _histograms(session, src, where, by_value=False)
    for name in TIMES:
        row[f"{name}_hist"] = hists.get((name, ""))
    return row


async def per_value(session: AsyncSession, dim: str, window: Window) -> dict[str, dict[str, Any]]:
    """Every count over the window, per value of a dimension (the agents' and teams' tables)."""
    src = _SOURCE
    c = src.c
    where = [c.dim == dim, c.sub == "", _in(pieces(window.start, window.end), c)]
    query = select(c.val, *sum_columns(c)).where(*where).group_by(c.val)
    rows = {row.val: dict(row._mapping) for row in await session.execute(query)}
    hists = await _histograms(session, src, where, by_value=True)
    for val, row in rows.items():
        for name in TIMES:
            row[f"{name}_hist"] = hists.get((name, val))
    return rows


async def breakdowns(
    session: AsyncSession, dim: str, val: str | None, window: Window
) -> list[tuple[str, int, int, int]]:
    """(sub, handovers, complaints, suggestions) per breakdown key over the window."""
    src = _SOURCE
    c = src.c
    query = (
        select(c.sub, *_sums(c, ("handovers", "complaints", "suggestions")))
        .where(c.dim == dim, c.sub != "", _in(pieces(window.start, window.end), c))
        .group_by(c.sub)
        .order_by(c.sub)
    )
    if val is not None:
        query = query.where(c.val == val)
    return [(r.sub, r.handovers, r.complaints, r.suggestions) for r in await session.execute(query)]


async def open_at(session: AsyncSession, dim: str, val: str | None, at: datetime) -> dict[str, int]:
    """Open tickets at an hour boundary, per value of the dimension."""
    src = _SOURCE
    c = src.c
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    query = (
        select(c.val, func.coalesce(func.sum(c.open_delta), 0).label("open"))
        .where(c.dim == dim, c.sub == "", _in(pieces(epoch, at), c))
        .group_by(c.val)
    )
    if val is not None:
        query = query.where(c.val == val)
    return {row.val: int(row.open) for row in await session.execute(query)}


@dataclass(frozen=True, slots=True)
class StoredLine:
    """One group's rows in time order: each row's local bucket and its columns. A bucket
    may come more than once (the hours at a window's edge, deltas not yet compacted)."""

    group: str | None
    points: list[datetime]
    columns: list[list[int]]


async def series(
    session: AsyncSession,
    *,
    columns: Sequence[str],
    dim: str,
    val: str | None,
    group_dim: str | None,
    window: Window,
    interval: str,
    tz: str,
    coarsest: str,
) -> list[StoredLine]:
    """The rows behind a series, one line per value of `group_dim` (or one line), as
    arrays: a year by day for 50 agents is 50 rows, not 18,250 to turn into Python
    objects one by one. The caller adds up the rows of a bucket: summing them here too
    would cost PostgreSQL a hash of every row, twice the time of reading them."""
    c = _SOURCE.c
    point = func.date_trunc(interval, func.timezone(tz, c.bucket))
    values: list[Any] = [point, *(c[name] for name in columns)]
    arrays = [func.array_agg(aggregate_order_by(x, c.bucket)) for x in values]
    where = [c.dim == (dim if group_dim is None else group_dim), c.sub == ""]
    if val is not None:
        where.append(c.val == val)
    where.append(_in(pieces(window.start, window.end, coarsest=coarsest), c))
    if group_dim is None:
        query = select(literal(None).label("group"), *arrays).where(*where)
    else:
        query = select(c.val, *arrays).where(*where).group_by(c.val)
    return [
        StoredLine(group, list(points), [list(column) for column in columns])
        for group, points, *columns in await session.execute(query)
        if points is not None
    ]


def empty_totals() -> dict[str, Any]:
    """What `totals` answers for a value with no rows."""
    empty: dict[str, Any] = dict.fromkeys(COUNTERS, 0)
    for name in TIMES:
        empty.update({f"{name}_n": 0, f"{name}_sum": 0, f"{name}_hist": None})
    return empty


async def open_at_both(
    session: AsyncSession, dim: str, val: str | None, start: datetime, end: datetime
) -> tuple[int, int]:
    """Open tickets at both ends of a window (hour boundaries), in one read."""
    src = _SOURCE
    c = src.c
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    query = select(
        func.coalesce(func.sum(c.open_delta).filter(_in(pieces(epoch, start), c)), 0),
        func.coalesce(func.sum(c.open_delta), 0),
    ).where(c.dim == dim, c.sub == "", _in(pieces(epoch, end), c))
    if val is not None:
        query = query.where(c.val == val)
    before, after = (await session.execute(query)).one()
    return int(before), int(after)
