"""HTTP for threshold alerts: the rules (supervisors and admins) and the history (staff,
and integrations whose token holds `metrics:read`, like the figures it is made of)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.alerts import service
from app.alerts.schemas import (
    AlertPage,
    AlertRuleCreate,
    AlertRuleList,
    AlertRuleOut,
    AlertRuleUpdate,
)
from app.auth.dependencies import ManagerUser
from app.common.openapi import problems
from app.common.types import IdPath
from app.db import DbSession
from app.metrics.access import MetricsViewer

router = APIRouter(tags=["alerts"])


@router.get("/alert-rules", responses=problems(403))
async def list_alert_rules(session: DbSession, _: ManagerUser) -> AlertRuleList:
    """Every rule, with whether it is firing now and its last value."""
    return AlertRuleList(items=[service.present(r) for r in await service.listed(session)])


@router.post("/alert-rules", status_code=status.HTTP_201_CREATED, responses=problems(403))
async def create_alert_rule(
    session: DbSession, _: ManagerUser, data: AlertRuleCreate, response: Response
) -> AlertRuleOut:
    """A threshold on a metric over a window, for the desk or one filter."""
    rule = await service.create(session, data)
    response.headers["Location"] = f"/api/v1/alert-rules/{rule.id}"
    return service.present(rule)


@router.get("/alert-rules/{rule_id}", responses=problems(403, 404))
async def get_alert_rule(session: DbSession, _: ManagerUser, rule_id: IdPath) -> AlertRuleOut:
    return service.present(await service.get(session, rule_id))


@router.patch("/alert-rules/{rule_id}", responses=problems(403, 404))
async def update_alert_rule(
    session: DbSession, _: ManagerUser, rule_id: IdPath, data: AlertRuleUpdate
) -> AlertRuleOut:
    """Change a rule; its metric stays (make a new rule for another)."""
    return service.present(await service.update(session, rule_id, data))


@router.delete(
    "/alert-rules/{rule_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(403, 404),
)
async def delete_alert_rule(session: DbSession, _: ManagerUser, rule_id: IdPath) -> None:
    """Delete a rule; its alerts stay in the history."""
    await service.delete(session, rule_id)


@router.get("/alerts", responses=problems(403))
async def list_alerts(
    session: DbSession,
    _: MetricsViewer,
    rule_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    before: Annotated[int | None, Query(ge=1, le=2**63 - 1, description="An alert id.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AlertPage:
    """Fired and resolved alerts, newest first (`before`: the last id of a page)."""
    return AlertPage(
        items=await service.history(session, rule_id=rule_id, before=before, limit=limit)
    )
