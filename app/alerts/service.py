"""Alert rules: create, read, change, delete; the history."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts.schemas import (
    AlertOut,
    AlertRuleCreate,
    AlertRuleOut,
    AlertRuleUpdate,
    FilterDimension,
)
from app.alerts.webhooks import check_webhooks
from app.errors import NotFound, UnprocessableEntity
from app.models import Alert, AlertRule, Role, User


def present(rule: AlertRule) -> AlertRuleOut:
    return AlertRuleOut(
        id=rule.id,
        name=rule.name,
        metric=rule.metric,
        filter_dimension=rule.filter_dim,
        filter_value=rule.filter_value,
        window_minutes=rule.window_minutes,
        comparison=rule.comparison,
        threshold=rule.threshold,
        min_count=rule.min_count,
        cooldown_minutes=rule.cooldown_minutes,
        recipient_ids=list(rule.recipient_ids),
        webhook_ids=list(rule.webhook_ids),
        enabled=rule.enabled,
        firing=rule.firing,
        last_fired_at=rule.last_fired_at,
        last_value=rule.last_value,
        last_evaluated_at=rule.last_evaluated_at,
    )


def _check_filter(dimension: FilterDimension | None, value: str | None) -> None:
    if (dimension is None) != (value is None):
        raise UnprocessableEntity("filter_dimension and filter_value go together.")
    if dimension in (FilterDimension.TEAM, FilterDimension.AGENT) and not (value or "").isdigit():
        raise UnprocessableEntity(f"A {dimension} filter names its id.")


async def _check_recipients(session: AsyncSession, ids: list[int]) -> None:
    if not ids:
        return
    staff = set(
        await session.scalars(
            select(User.id).where(
                User.id.in_(ids), User.role.in_((Role.ADMIN, Role.SUPERVISOR, Role.AGENT))
            )
        )
    )
    missing = sorted(set(ids) - staff)
    if missing:
        raise UnprocessableEntity(
            f"Recipients must be staff; not staff or unknown: {', '.join(map(str, missing))}."
        )


async def create(session: AsyncSession, data: AlertRuleCreate) -> AlertRule:
    _check_filter(data.filter_dimension, data.filter_value)
    await _check_recipients(session, data.recipient_ids)
    await check_webhooks(session, data.webhook_ids)
    rule = AlertRule(
        name=data.name,
        metric=data.metric.value,
        filter_dim=None if data.filter_dimension is None else data.filter_dimension.value,
        filter_value=data.filter_value,
        window_minutes=data.window_minutes,
        comparison=data.comparison.value,
        threshold=data.threshold,
        min_count=data.min_count,
        cooldown_minutes=data.cooldown_minutes,
        recipient_ids=list(dict.fromkeys(data.recipient_ids)),
        webhook_ids=list(dict.fromkeys(data.webhook_ids)),
        enabled=data.enabled,
        firing=False,
    )
    session.add(rule)
    await session.flush()
    return rule


async def get(session: AsyncSession, rule_id: int, *, for_update: bool = False) -> AlertRule:
    query = select(AlertRule).where(AlertRule.id == rule_id)
    if for_update:
        query = query.with_for_update()
    rule = await session.scalar(query)
    if rule is None:
        raise NotFound(f"Alert rule {rule_id} does not exist.")
    return rule


async def listed(session: AsyncSession) -> list[AlertRule]:
    return list(await session.scalars(select(AlertRule).order_by(AlertRule.id)))


async def update(session: AsyncSession, rule_id: int, data: AlertRuleUpdate) -> AlertRule:
    rule = await get(session, rule_id, for_update=True)
    changes = data.model_dump(exclude_unset=True)
    if "filter_dimension" in changes or "filter_value" in changes:
        dimension = changes.get("filter_dimension", rule.filter_dim)
        value = changes.get("filter_value", rule.filter_value)
        _check_filter(None if dimension is None else FilterDimension(dimension), value)
        rule.filter_dim = None if dimension is None else str(FilterDimension(dimension).value)
        rule.filter_value = value
    if changes.get("recipient_ids") is not None:
        await _check_recipients(session, changes["recipient_ids"])
        rule.recipient_ids = list(dict.fromkeys(changes["recipient_ids"]))
    if changes.get("webhook_ids") is not None:
        await check_webhooks(session, changes["webhook_ids"])
        rule.webhook_ids = list(dict.fromkeys(changes["webhook_ids"]))
    for field in ("name", "window_minutes", "threshold", "min_count", "cooldown_minutes"):
        if changes.get(field) is not None:
            setattr(rule, field, changes[field])
    if changes.get("comparison") is not None:
        rule.comparison = str(changes["comparison"].value)
    if changes.get("enabled") is not None:
        rule.enabled = changes["enabled"]
    await session.flush()
    return rule


async def delete(session: AsyncSession, rule_id: int) -> None:
    rule = await get(session, rule_id, for_update=True)
    await session.delete(rule)
    await session.flush()


async def history(
    session: AsyncSession, *, rule_id: int | None, before: int | None, limit: int
) -> list[AlertOut]:
    query = select(Alert).order_by(Alert.id.desc()).limit(limit)
    if rule_id is not None:
        query = query.where(Alert.rule_id == rule_id)
    if before is not None:
        query = query.where(Alert.id < before)
    return [
        AlertOut(id=a.id, rule_id=a.rule_id, kind=a.kind, data=a.data, created_at=a.created_at)
        for a in await session.scalars(query)
    ]
