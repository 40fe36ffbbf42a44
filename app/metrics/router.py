"""HTTP for the desk's figures: KPIs, series, the agents' and teams' tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from app.common.openapi import problems
from app.common.types import ShortText
from app.db import DbSession
from app.errors import Forbidden
from app.metrics import chart, csv_export, emerging, service
from app.metrics.access import MetricsViewer, Scope, requested
from app.metrics.rollups import Window
from app.metrics.schemas import (
    AgentTable,
    Emerging,
    EmergingReport,
    Example,
    GroupBy,
    Interval,
    Metric,
    Series,
    Summary,
    TeamTable,
    Timeseries,
)

router = APIRouter(tags=["metrics"])

From = Annotated[
    str | None,
    Query(alias="from", max_length=40, description="A date (local midnight in tz) or date-time."),
]
To = Annotated[str | None, Query(max_length=40, description="Exclusive; default now.")]
Tz = Annotated[str, Query(max_length=64, description="IANA time zone for dates and buckets.")]
Text = Annotated[ShortText | None, Query(max_length=100)]
Id = Annotated[int | None, Query(ge=1, le=2**63 - 1)]
_RESPONSES = {**problems(403), **csv_export.CSV_RESPONSE}


async def _asked_scope(
    team_id: Id = None,
    agent_id: Id = None,
    channel: Text = None,
    category: Text = None,
    priority: Text = None,
    tag: Text = None,
) -> Scope:
    """The one filter a figure is asked for, the same on every endpoint that takes one."""
    return requested(
        team_id=team_id,
        agent_id=agent_id,
        channel=channel,
        category=category,
        priority=priority,
        tag=tag,
    )


AskedScope = Annotated[Scope, Depends(_asked_scope)]


@dataclass(frozen=True, slots=True)
class Period:
    """[from, to) as asked, widened to whole hours, and the zone its dates are in."""

    window: Window
    tz: str


async def _asked_period(from_: From = None, to: To = None, tz: Tz = "UTC") -> Period:
    """The period a figure is asked for, the same on every endpoint that takes one."""
    return Period(service.window(from_, to, tz), tz)


AskedPeriod = Annotated[Period, Depends(_asked_period)]


async def _series(
    session: DbSession,
    viewer: MetricsViewer,
    scope: AskedScope,
    period: AskedPeriod,
    metric: Metric = Metric.CREATED,
    interval: Interval = Interval.DAY,
    group_by: GroupBy | None = None,
) -> Series:
    """The series asked for: the same for its JSON, CSV and SVG."""
    return await service.timeseries(
        session,
        viewer,
        scope,
        period.window,
        metric=metric,
        interval=interval,
        tz=period.tz,
        group_by=group_by,
    )


AskedSeries = Annotated[Series, Depends(_series)]


@router.get("/metrics/summary", response_model=Summary, responses=_RESPONSES)
async def metrics_summary(
    session: DbSession,
    viewer: MetricsViewer,
    scope: AskedScope,
    period: AskedPeriod,
    request: Request,
) -> Summary | Response:
    """Every KPI over [from, to) for the desk or one filter (docs/metrics.md). Agents see
    their own figures (the default for them) and their teams'."""
    result = await service.summary(session, viewer, scope, period.window, period.tz)
    if csv_export.wants_csv(request):
        return csv_export.pairs(result.model_dump(mode="json", by_alias=True), "summary")
    return csv_export.json(result)


@router.get("/metrics/timeseries", response_model=Timeseries, responses=_RESPONSES)
async def metrics_timeseries(result: AskedSeries, request: Request) -> Timeseries | Response:
    """A metric per hour, day, week or month (local to tz), optionally one series per
    value of `group_by`."""
    if csv_export.wants_csv(request):
        return csv_export.table(result.points(), result.metric.value)
    return Response(result.to_json(), media_type="application/json")


@router.get(
    "/metrics/timeseries.svg",
    response_class=Response,
    responses={
        **problems(403),
        200: {"content": {"image/svg+xml": {"schema": {"type": "string"}}}},
    },
)
async def metrics_timeseries_chart(result: AskedSeries) -> Response:
    """The same series as /metrics/timeseries, drawn as an SVG line chart."""
    return Response(chart.draw(result), media_type="image/svg+xml")


@router.get("/metrics/agents", response_model=AgentTable, responses=_RESPONSES)
async def metrics_agents(
    session: DbSession, viewer: MetricsViewer, period: AskedPeriod, request: Request
) -> AgentTable | Response:
    """Per agent: handled, load, time away and every KPI. Agents see their own row."""
    result = await service.agents(session, viewer, period.window)
    if csv_export.wants_csv(request):
        rows = [r.model_dump(mode="json") for r in result.agents]
        return csv_export.table(rows, "agents")
    return result


@router.get("/metrics/teams", response_model=TeamTable, responses=_RESPONSES)
async def metrics_teams(
    session: DbSession, viewer: MetricsViewer, period: AskedPeriod, request: Request
) -> TeamTable | Response:
    """Per team: load and every KPI. Agents see their teams."""
    result = await service.teams(session, viewer, period.window)
    if csv_export.wants_csv(request):
        rows = [r.model_dump(mode="json") for r in result.teams]
        return csv_export.table(rows, "teams")
    return result


@router.get("/insights/emerging", response_model=EmergingReport, responses=_RESPONSES)
async def emerging_issues(
    session: DbSession,
    viewer: MetricsViewer,
    request: Request,
    recent_hours: Annotated[int, Query(ge=1, le=24 * 30)] = 24,
    baseline_days: Annotated[int, Query(ge=1, le=365)] = 28,
    min_count: Annotated[int, Query(ge=1, le=100_000)] = 5,
    alpha: Annotated[float, Query(gt=0, lt=0.5)] = 0.001,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> EmergingReport | Response:
    """Categories, tags and terms (subjects and first messages) whose tickets in the
    last `recent_hours` rise significantly above their own baseline: a one-sided
    Poisson test, p < alpha, at least `min_count` tickets (docs/metrics.md). With a
    few example tickets each. Supervisors, admins and integrations with metrics:read."""
    if not viewer.sees_all:
        raise Forbidden("Emerging issues are for supervisors and admins.")
    now = datetime.now(UTC)
    found = await emerging.find(
        session,
        now,
        recent_hours=recent_hours,
        baseline_days=baseline_days,
        min_count=min_count,
        alpha=alpha,
    )
    recent_from = now - timedelta(hours=recent_hours)
    items = [
        Emerging(
            kind=r.kind,
            key=r.key,
            recent=r.recent,
            baseline=r.baseline,
            expected=r.expected,
            p_value=r.p_value,
            examples=[
                Example(ticket_id=i, subject=s)
                for i, s in await emerging.examples(session, r, recent_from)
            ],
        )
        for r in found[:limit]
    ]
    report = EmergingReport(
        recent_from=recent_from,
        baseline_from=recent_from - timedelta(days=baseline_days),
        to=now,
        min_count=min_count,
        alpha=alpha,
        items=items,
    )
    if csv_export.wants_csv(request):
        rows = [
            {k: v for k, v in i.model_dump(mode="json").items() if k != "examples"} for i in items
        ]
        return csv_export.table(rows, "emerging")
    return report
