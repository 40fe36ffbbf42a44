"""The evaluator: one pass over the enabled rules, by one process at a time.

The background process runs a pass every `alert_check_interval_seconds`; a
transaction-scoped advisory lock makes every other process's pass a no-op meanwhile.
A rule fires when its figure crosses the threshold (and its cooldown since the last
firing is over) and resolves when it no longer does; each is a row in `alerts`, a
`pg_notify` on the `alerts` live channel and a notice to its recipients through the
outbox, all committed with the rule's new state or not at all.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, and_, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.alerts.schemas import AlertMetric, Comparison
from app.alerts.webhooks import enqueue_alert_webhooks
from app.events.kinds import EventKind
from app.live.hub import ALERTS_CHANNEL
from app.metrics import rollups
from app.metrics.definitions import ALL
from app.metrics.rollups import Window, ceil_hour
from app.metrics.schemas import Kpis
from app.models import Alert, AlertRule, Role, Ticket, TicketStatus, User
from app.notifications.outbox import enqueue_personal_notice
from app.notifications.rules import NoticeTopic

logger = logging.getLogger(__name__)

# pg_try_advisory_xact_lock key: "alrt" in ASCII. One evaluator across processes.
EVALUATOR_LOCK = 0x616C7274
_OPEN = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING)


async def value_of(
    session: AsyncSession, rule: AlertRule, now: datetime, unassigned: Mapping[int, int]
) -> tuple[float | None, int]:
    """The rule's figure now, and how many observations it rests on (`unassigned`: the
    unassigned-waiting counts of the pass, by rule)."""
    metric = AlertMetric(rule.metric)
    dim = rule.filter_dim or ALL
    val = rule.filter_value if rule.filter_dim else None
    if metric is AlertMetric.UNASSIGNED_WAITING:
        waiting = unassigned[rule.id]
        return float(waiting), waiting
    if metric is AlertMetric.BACKLOG:
        open_now = sum((await rollups.open_at(session, dim, val, ceil_hour(now))).values())
        return float(open_now), open_now
    span = Window.of(now - timedelta(minutes=rule.window_minutes), now)
    kpis = Kpis.of(await rollups.totals(session, dim, val, span))
    match metric:
        case AlertMetric.SLA_BREACHES:
            return float(kpis.sla.breaches), kpis.sla.breaches
        case AlertMetric.COMPLAINTS:
            return float(kpis.complaints), kpis.complaints
        case AlertMetric.CREATED:
            return float(kpis.created), kpis.created
        case AlertMetric.CSAT:
            return kpis.csat.rate, kpis.csat.answered
        case AlertMetric.FCR_RATE:
            return kpis.fcr.rate, kpis.fcr.of
        case AlertMetric.REOPEN_RATE:
            return kpis.reopen.rate, kpis.reopen.of
        case AlertMetric.FIRST_RESPONSE_MEDIAN:
            median = kpis.first_response_time.median
            return (None if median is None else float(median)), kpis.first_response_time.count
    raise AssertionError(metric)  # pragma: no cover - every metric is matched above


async def unassigned_waiting(
    session: AsyncSession, rules: Sequence[AlertRule], now: datetime
) -> dict[int, int]:
    """Open tickets nobody owns, waiting longer than each rule's window (and in its
    filter), for every such rule in one scan: a desk with tens of thousands of them
    would otherwise be read once per rule."""
    counts = {rule.id: 0 for rule in rules}
    conditions = {rule.id: c for rule in rules if (c := _waiting_in(rule, now)) is not None}
    if conditions:
        query = select(*(func.count().filter(c) for c in conditions.values())).where(
            Ticket.status.in_(_OPEN), Ticket.owner_id.is_(None)
        )
        counts.update(zip(conditions, (await session.execute(query)).one(), strict=True))
    return counts


def _waiting_in(rule: AlertRule, now: datetime) -> ColumnElement[bool] | None:
    """Which unowned open tickets a rule counts; None: none can be (an agent's)."""
    conditions = [Ticket.created_at <= now - timedelta(minutes=rule.window_minutes)]
    value = rule.filter_value
    match rule.filter_dim:
        case "team":
            conditions.append(Ticket.team_id == int(value or 0))
        case "channel":  # compared as text: a rule may name a channel that is not one
            conditions.append(cast(Ticket.channel, String) == value)
        case "category":
            conditions.append(Ticket.category == value)
        case "priority":
            conditions.append(cast(Ticket.priority, String) == value)
        case "tag":
            conditions.append(Ticket.tags.contains([value or ""]))
        case "agent":
            return None  # an agent's tickets are never unassigned
    return and_(*conditions)


async def evaluate_all(
    sessionmaker: async_sessionmaker[AsyncSession], now: datetime | None = None
) -> int:
    """One pass; the number of rules that fired or resolved (0 when another process
    holds the pass)."""
    now = now or datetime.now(UTC)
    async with sessionmaker() as session, session.begin():
        if not await session.scalar(select(func.pg_try_advisory_xact_lock(EVALUATOR_LOCK))):
            return 0
        rules = await session.scalars(
            select(AlertRule).where(AlertRule.enabled).order_by(AlertRule.id)
        )
        enabled = rules.all()
        waiting = [r for r in enabled if r.metric == AlertMetric.UNASSIGNED_WAITING.value]
        unassigned = await unassigned_waiting(session, waiting, now)
        changed = 0
        for rule in enabled:
            changed += await _evaluate(session, rule, now, unassigned)
        return changed


async def _evaluate(
    session: AsyncSession, rule: AlertRule, now: datetime, unassigned: Mapping[int, int]
) -> int:
    value, observed = await value_of(session, rule, now, unassigned)
    holds = (
        value is not None
        and observed >= rule.min_count
        and Comparison(rule.comparison).holds(value, rule.threshold)
    )
    rule.last_value = value
    rule.last_evaluated_at = now
    if holds and not rule.firing:
        cooldown = timedelta(minutes=rule.cooldown_minutes)
        if rule.last_fired_at is not None and now - rule.last_fired_at < cooldown:
            return 0
        rule.firing = True
        rule.last_fired_at = now
        await _record(session, rule, EventKind.ALERT_FIRED, value, now)
        return 1
    if not holds and rule.firing:
        rule.firing = False
        await _record(session, rule, EventKind.ALERT_RESOLVED, value, now)
        return 1
    return 0


async def _record(
    session: AsyncSession, rule: AlertRule, kind: EventKind, value: float | None, now: datetime
) -> None:
    data: dict[str, Any] = {
        "rule_id": rule.id,
        "rule_name": rule.name,
        "metric": rule.metric,
        "filter": None
        if rule.filter_dim is None
        else {"dimension": rule.filter_dim, "value": rule.filter_value},
        "window_minutes": rule.window_minutes,
        "comparison": rule.comparison,
        "threshold": rule.threshold,
        "value": value,
    }
    alert = Alert(rule_id=rule.id, kind=kind.value, data=data, created_at=now)
    session.add(alert)
    await session.flush()
    data = {"alert_id": alert.id, **data}
    payload = {"kind": kind.value, "alert_id": alert.id, "data": data, "at": now.isoformat()}
    # Delivered at commit, like the ticket events: nothing leaves before the state does.
    await session.execute(select(func.pg_notify(ALERTS_CHANNEL, json.dumps(payload))))
    for recipient in await _recipients(session, rule):
        await enqueue_personal_notice(
            session, recipient, NoticeTopic.SLA, kind=kind.value, data=data
        )
    await enqueue_alert_webhooks(session, rule.webhook_ids, kind.value, data, now)
    logger.info("%s: %s (%s = %s)", kind.value, rule.name, rule.metric, value)


async def _recipients(session: AsyncSession, rule: AlertRule) -> list[int]:
    query = select(User.id).where(User.active).order_by(User.id)
    if rule.recipient_ids:
        query = query.where(
            User.id.in_(rule.recipient_ids),
            User.role.in_((Role.ADMIN, Role.SUPERVISOR, Role.AGENT)),
        )
    else:
        query = query.where(User.role.in_((Role.ADMIN, Role.SUPERVISOR)))
    return list(await session.scalars(query))
