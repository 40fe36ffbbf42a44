"""HTTP for the desk's figures: KPIs, series, the agents' and teams' tables."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.auth.dependencies import CurrentUser
from app.common.openapi import problems
from app.db import DbSession
from app.metrics import csv_export, service
from app.metrics.access import requested
from app.metrics.schemas import (
    AgentTable,
    GroupBy,
    Interval,
    Metric,
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
Text = Annotated[str | None, Query(max_length=100)]
Id = Annotated[int | None, Query(ge=1, le=2**63 - 1)]
_RESPONSES = {**problems(403), **csv_export.CSV_RESPONSE}


@router.get("/metrics/summary", response_model=Summary, responses=_RESPONSES)
async def metrics_summary(
    session: DbSession,
    viewer: CurrentUser,
    request: Request,
    from_: From = None,
    to: To = None,
    tz: Tz = "UTC",
    team_id: Id = None,
    agent_id: Id = None,
    channel: Text = None,
    category: Text = None,
    priority: Text = None,
    tag: Text = None,
) -> Summary | Response:
    """Every KPI over [from, to) for the desk or one filter (docs/metrics.md). Agents see
    their own figures (the default for them) and their teams'."""
    scope = requested(
        team_id=team_id,
        agent_id=agent_id,
        channel=channel,
        category=category,
        priority=priority,
        tag=tag,
    )
    result = await service.summary(session, viewer, scope, service.window(from_, to, tz), tz)
    if csv_export.wants_csv(request):
        return csv_export.pairs(result.model_dump(mode="json", by_alias=True), "summary")
    return result


@router.get("/metrics/timeseries", response_model=Timeseries, responses=_RESPONSES)
async def metrics_timeseries(
    session: DbSession,
    viewer: CurrentUser,
    request: Request,
    metric: Metric = Metric.CREATED,
    interval: Interval = Interval.DAY,
    group_by: GroupBy | None = None,
    from_: From = None,
    to: To = None,
    tz: Tz = "UTC",
    team_id: Id = None,
    agent_id: Id = None,
    channel: Text = None,
    category: Text = None,
    priority: Text = None,
    tag: Text = None,
) -> Timeseries | Response:
    """A metric per hour, day, week or month (local to tz), optionally one series per
    value of `group_by`."""
    scope = requested(
        team_id=team_id,
        agent_id=agent_id,
        channel=channel,
        category=category,
        priority=priority,
        tag=tag,
    )
    result = await service.timeseries(
        session,
        viewer,
        scope,
        service.window(from_, to, tz),
        metric=metric,
        interval=interval,
        tz=tz,
        group_by=group_by,
    )
    if csv_export.wants_csv(request):
        points = [p.model_dump(mode="json") for p in result.points]
        return csv_export.table(points, f"{metric.value}")
    return result


@router.get("/metrics/agents", response_model=AgentTable, responses=_RESPONSES)
async def metrics_agents(
    session: DbSession,
    viewer: CurrentUser,
    request: Request,
    from_: From = None,
    to: To = None,
    tz: Tz = "UTC",
) -> AgentTable | Response:
    """Per agent: handled, load, time away and every KPI. Agents see their own row."""
    result = await service.agents(session, viewer, service.window(from_, to, tz))
    if csv_export.wants_csv(request):
        rows = [r.model_dump(mode="json") for r in result.agents]
        return csv_export.table(rows, "agents")
    return result


@router.get("/metrics/teams", response_model=TeamTable, responses=_RESPONSES)
async def metrics_teams(
    session: DbSession,
    viewer: CurrentUser,
    request: Request,
    from_: From = None,
    to: To = None,
    tz: Tz = "UTC",
) -> TeamTable | Response:
    """Per team: load and every KPI. Agents see their teams."""
    result = await service.teams(session, viewer, service.window(from_, to, tz))
    if csv_export.wants_csv(request):
        rows = [r.model_dump(mode="json") for r in result.teams]
        return csv_export.table(rows, "teams")
    return result
