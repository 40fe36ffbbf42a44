"""The metrics use cases: a window and a scope in, figures out of the rollups."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import UnprocessableEntity
from app.metrics import rollups
from app.metrics.access import Scope, Viewer, allowed, teams_of
from app.metrics.definitions import rate
from app.metrics.rollups import Window
from app.metrics.schemas import (
    AgentRow,
    AgentTable,
    Filter,
    GroupBy,
    Interval,
    Kpis,
    Line,
    Metric,
    Series,
    Summary,
    TeamRow,
    TeamTable,
)
from app.models import Absence, Team, Ticket, TicketStatus, User

DEFAULT_DAYS = 30
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(2200, 1, 1, tzinfo=UTC)
MAX_POINTS = 10_000
_UTC_ZONES = frozenset({"UTC", "Etc/UTC", "GMT", "Etc/GMT", "Etc/Universal", "Universal", "Zulu"})
_OPEN = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING)

# What each metric needs from the rollups.
_COLUMNS: dict[Metric, tuple[str, ...]] = {
    Metric.CREATED: ("created",),
    Metric.RESOLVED: ("resolved",),
    Metric.BACKLOG: ("open_delta",),
    # A series point of a time is its mean: summing histograms per point would read
    # every cell of a year of rows (the summary gives the median and p90).
    Metric.FIRST_RESPONSE: ("frt_n", "frt_sum"),
    Metric.NEXT_RESPONSE: ("nrt_n", "nrt_sum"),
    Metric.TIME_TO_RESOLVE: ("ttr_n", "ttr_sum"),
    Metric.FCR: ("fcr", "first_resolved"),
    Metric.REOPEN: ("reopened", "first_resolved"),
    Metric.CSAT: ("csat_positive", "csat_answered"),
    Metric.SLA: ("sla_ok", "first_resolved"),
    Metric.BREACHES: ("breaches",),
    Metric.HANDOVERS: ("handovers",),
    Metric.COMPLAINTS: ("complaints",),
    Metric.SUGGESTIONS: ("suggestions",),
}


def zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UnprocessableEntity(f"Unknown time zone {tz[:64]!r}.") from exc


def _instant(value: str, where: ZoneInfo, name: str) -> datetime:
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=where)
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise UnprocessableEntity(f"{name} is a date or an ISO 8601 date-time.") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=where)


def window(start: str | None, end: str | None, tz: str) -> Window:
    """[from, to) from the query: dates are local midnights in `tz`; defaults: the last
    30 days up to now."""
    where = zone(tz)
    to = _instant(end, where, "to") if end else datetime.now(UTC)
    since = _instant(start, where, "from") if start else None
    if not (_EARLIEST <= to <= _LATEST and (since is None or since >= _EARLIEST)):
        raise UnprocessableEntity("from and to lie between 1970 and 2200.")
    since = since or to - timedelta(days=DEFAULT_DAYS)
    if since >= to:
        raise UnprocessableEntity("from must be before to.")
    return Window.of(since, to)


def _filter(scope: Scope) -> Filter | None:
    return None if scope.whole_desk else Filter(dimension=scope.dim, value=scope.val or "")


async def summary(
    session: AsyncSession, viewer: Viewer, scope: Scope, span: Window, tz: str
) -> Summary:
    scope = await allowed(session, viewer, scope)
    totals = await rollups.totals(session, scope.dim, scope.val, span)
    before, after = await rollups.open_at_both(session, scope.dim, scope.val, span.start, span.end)
    reasons: dict[str, int] = {}
    complaints: dict[str, int] = {}
    suggestions: dict[str, int] = {}
    for sub, handovers, complained, suggested in await rollups.breakdowns(
        session, scope.dim, scope.val, span
    ):
        kind, _, key = sub.partition(":")
        if kind == "handover":
            reasons[key] = handovers
        elif kind == "complaint":
            complaints[key] = complained
        elif kind == "suggestion":
            suggestions[key] = suggested
    return Summary(
        from_=span.start,
        to=span.end,
        tz=tz,
        filter=_filter(scope),
        kpis=Kpis.of(totals),
        backlog_at_start=before,
        backlog_at_end=after,
        handovers_by_reason=reasons,
        complaints_by_category=complaints,
        suggestions_by_category=suggestions,
    )


def _truncate(at: datetime, interval: Interval) -> datetime:
    at = at.replace(minute=0, second=0, microsecond=0)
    if interval is Interval.HOUR:
        return at
    at = at.replace(hour=0)
    if interval is Interval.WEEK:
        return at - timedelta(days=at.weekday())
    if interval is Interval.MONTH:
        return at.replace(day=1)
    return at


def _next(at: datetime, interval: Interval) -> datetime:
    if interval is Interval.HOUR:
        return at + timedelta(hours=1)
    if interval is Interval.DAY:
        return at + timedelta(days=1)
    if interval is Interval.WEEK:
        return at + timedelta(days=7)
    return (at.replace(day=28) + timedelta(days=4)).replace(day=1)


def _steps(span: Window, interval: Interval, where: ZoneInfo) -> list[datetime]:
    """Local (naive) starts of the buckets covering the window, as date_trunc names them."""
    current = _truncate(span.start.astimezone(where).replace(tzinfo=None), interval)
    end = span.end.astimezone(where).replace(tzinfo=None)
    steps = []
    while current < end:
        steps.append(current)
        if len(steps) > MAX_POINTS:
            raise UnprocessableEntity(f"At most {MAX_POINTS} points: widen the interval.")
        current = _next(current, interval)
    return steps


Cells = Sequence[Any]  # one bucket's sums, in the order of the metric's _COLUMNS


def _reader(metric: Metric) -> Callable[[Cells], tuple[float | None, int]]:
    """How one bucket's sums read as (value, count): a time is its mean, a share its
    rate over its denominator, anything else its count."""
    names = _COLUMNS[metric]
    if names[0].endswith("_n"):
        return lambda sums: (None if not sums[0] else round(sums[1] / sums[0], 3), sums[0])
    if len(names) == 2:
        return lambda sums: (rate(sums[0], sums[1]), sums[1])
    return lambda sums: (float(sums[0]), sums[0])


async def timeseries(
    session: AsyncSession,
    viewer: Viewer,
    scope: Scope,
    span: Window,
    *,
    metric: Metric,
    interval: Interval,
    tz: str,
    group_by: GroupBy | None,
) -> Series:
    where = zone(tz)
    scope = await allowed(session, viewer, scope)
    if group_by is not None and not scope.whole_desk and scope.dim != group_by.value:
        raise UnprocessableEntity("group_by and a filter must name the same dimension.")
    steps = _steps(span, interval, where)
    # Hourly rows in other zones (their days are not UTC days); monthly rows only for a
    # series by month (a week or a day is not made of months).
    coarsest = "h"
    if tz in _UTC_ZONES and interval is not Interval.HOUR:
        coarsest = "m" if interval is Interval.MONTH else "d"
    stored = await rollups.series(
        session,
        columns=_COLUMNS[metric],
        dim=scope.dim,
        val=None if scope.whole_desk else scope.val,
        group_dim=None if group_by is None else group_by.value,
        window=span,
        interval=interval.value,
        tz=tz,
        coarsest=coarsest,
    )
    found = {line.group: _per_bucket(line) for line in stored}
    named = sorted(g for g in found if g is not None)
    groups: list[str | None] = list(named) if group_by else [None]
    if metric is Metric.BACKLOG:
        dim = scope.dim if group_by is None else group_by.value
        val = None if scope.whole_desk and group_by else scope.val
        base = await rollups.open_at(session, dim, val, span.start)
        if group_by is not None:
            groups = list(sorted({*named, *(g for g, n in base.items() if n)}))
        lines = [_backlog(steps, found.get(g, {}), base, g) for g in groups]
    else:
        lines = [_line(steps, found.get(g, {}), _reader(metric), metric, g) for g in groups]
    return Series(
        metric=metric,
        interval=interval,
        tz=tz,
        group_by=group_by,
        filter=_filter(scope),
        instants=[step.replace(tzinfo=where) for step in steps],
        lines=lines,
    )


def _per_bucket(line: rollups.StoredLine) -> dict[datetime, Cells]:
    """A line's sums per bucket: most buckets have one row, a few (edges, deltas) more."""
    rows = zip(*line.columns, strict=True)
    if len(set(line.points)) == len(line.points):  # the common case, at C speed
        return dict(zip(line.points, rows, strict=True))
    cells: dict[datetime, Cells] = {}
    for point, sums in zip(line.points, rows, strict=True):
        found = cells.get(point)
        cells[point] = sums if found is None else [a + b for a, b in zip(found, sums, strict=True)]
    return cells


def _line(
    steps: list[datetime],
    cells: dict[datetime, Cells],
    read: Callable[[Cells], tuple[float | None, int]],
    metric: Metric,
    group: str | None,
) -> Line:
    empty = [0] * len(_COLUMNS[metric])
    read_out = [read(cells.get(step, empty)) for step in steps]
    values = [value for value, _ in read_out]
    counts = [int(count) for _, count in read_out]
    is_time = _COLUMNS[metric][0].endswith("_n")
    return Line(group, values, counts, list(values) if is_time else None)


def _backlog(
    steps: list[datetime], cells: dict[datetime, Cells], base: dict[str, int], group: str | None
) -> Line:
    """Open tickets after each bucket: the count at the start plus the changes so far."""
    running = sum(base.values()) if group is None else base.get(group, 0)
    counts = []
    for step in steps:
        sums = cells.get(step)
        running += 0 if sums is None else int(sums[0])
        counts.append(running)
    return Line(group, [float(n) for n in counts], counts)


async def _open_load(session: AsyncSession, column: Any) -> dict[int, int]:
    rows = await session.execute(
        select(column, func.count())
        .where(Ticket.status.in_(_OPEN), column.is_not(None))
        .group_by(column)
    )
    return {int(key): int(n) for key, n in rows}


async def _time_away(session: AsyncSession, span: Window) -> dict[int, int]:
    end = func.least(func.coalesce(Absence.ends_at, span.end), span.end)
    seconds = func.sum(func.extract("epoch", end - func.greatest(Absence.starts_at, span.start)))
    rows = await session.execute(
        select(Absence.user_id, seconds)
        .where(Absence.starts_at < span.end)
        .where((Absence.ends_at.is_(None)) | (Absence.ends_at > span.start))
        .group_by(Absence.user_id)
    )
    return {int(user): int(total or 0) for user, total in rows}


async def agents(session: AsyncSession, viewer: Viewer, span: Window) -> AgentTable:
    figures = await rollups.per_value(session, "agent", span)
    load = await _open_load(session, Ticket.owner_id)
    away = await _time_away(session, span)
    ids = {int(v) for v in figures if v} | set(load)
    if not viewer.sees_all:
        ids &= {viewer.user.id}
        ids.add(viewer.user.id)
    names = dict((await session.execute(select(User.id, User.name).where(User.id.in_(ids)))).all())
    empty = rollups.empty_totals()
    rows = [
        AgentRow(
            agent_id=agent_id,
            name=names.get(agent_id, ""),
            handled=int(figures.get(str(agent_id), empty)["resolved"]),
            load=load.get(agent_id, 0),
            time_away_seconds=away.get(agent_id, 0),
            kpis=Kpis.of(figures.get(str(agent_id), empty)),
        )
        for agent_id in sorted(ids)
        if agent_id in names
    ]
    return AgentTable(from_=span.start, to=span.end, agents=rows)


async def teams(session: AsyncSession, viewer: Viewer, span: Window) -> TeamTable:
    figures = await rollups.per_value(session, "team", span)
    load = await _open_load(session, Ticket.team_id)
    query = select(Team.id, Team.name).order_by(Team.id)
    if not viewer.sees_all:
        query = query.where(Team.id.in_(await teams_of(session, viewer.user)))
    empty = rollups.empty_totals()
    rows = [
        TeamRow(
            team_id=team_id,
            name=name,
            load=load.get(team_id, 0),
            kpis=Kpis.of(figures.get(str(team_id), empty)),
        )
        for team_id, name in (await session.execute(query))
    ]
    return TeamTable(from_=span.start, to=span.end, teams=rows)
