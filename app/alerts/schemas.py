"""Alert rules in and out, and the alert history."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from app.common.types import Id, Name, ShortText


class AlertMetric(StrEnum):
    """What a rule watches (docs/metrics.md defines each figure)."""

    UNASSIGNED_WAITING = "unassigned_waiting"  # open, no owner, filed over window ago
    SLA_BREACHES = "sla_breaches"
    CSAT = "csat"
    COMPLAINTS = "complaints"
    CREATED = "created"
    BACKLOG = "backlog"  # open now (the window does not apply)
    FIRST_RESPONSE_MEDIAN = "first_response_median"
    FCR_RATE = "fcr_rate"
    REOPEN_RATE = "reopen_rate"


class Comparison(StrEnum):
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"

    def holds(self, value: float, threshold: float) -> bool:
        match self:
            case Comparison.GT:
                return value > threshold
            case Comparison.GTE:
                return value >= threshold
            case Comparison.LT:
                return value < threshold
            case Comparison.LTE:
                return value <= threshold


class FilterDimension(StrEnum):
    TEAM = "team"
    AGENT = "agent"
    CHANNEL = "channel"
    CATEGORY = "category"
    PRIORITY = "priority"
    TAG = "tag"


Minutes = Annotated[int, Field(ge=1, le=60 * 24 * 90, strict=True)]
Threshold = Annotated[float, Field(ge=-1e12, le=1e12, allow_inf_nan=False)]


WEBHOOKS_DESCRIPTION = (
    "Webhook endpoints (ids from /webhooks) to POST alert.fired and alert.resolved to, "
    "signed and retried like every webhook, whatever their event_kinds. Each must be "
    "active, and an endpoint of an integration only if that integration holds a token "
    "with the scope metrics:read (otherwise 422)."
)


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AlertRuleCreate(_Input):
    name: Name
    metric: AlertMetric
    filter_dimension: FilterDimension | None = None
    filter_value: ShortText | None = None
    window_minutes: Minutes = 60
    comparison: Comparison
    threshold: Threshold
    min_count: Annotated[int, Field(ge=0, le=1_000_000, strict=True)] = 0
    cooldown_minutes: Minutes = 60
    recipient_ids: list[Id] = Field(
        default_factory=list,
        max_length=100,
        description="Staff to tell; empty: every supervisor and admin.",
    )
    webhook_ids: list[Id] = Field(
        default_factory=list,
        max_length=20,
        description=WEBHOOKS_DESCRIPTION,
    )
    enabled: bool = True


class AlertRuleUpdate(_Input):
    name: Name | None = None
    filter_dimension: FilterDimension | None = None
    filter_value: ShortText | None = None
    window_minutes: Minutes | None = None
    comparison: Comparison | None = None
    threshold: Threshold | None = None
    min_count: Annotated[int, Field(ge=0, le=1_000_000, strict=True)] | None = None
    cooldown_minutes: Minutes | None = None
    recipient_ids: list[Id] | None = Field(default=None, max_length=100)
    webhook_ids: list[Id] | None = Field(default=None, max_length=20)
    enabled: bool | None = None


class AlertRuleOut(BaseModel):
    id: int
    name: str
    metric: str
    filter_dimension: str | None
    filter_value: str | None
    window_minutes: int
    comparison: str
    threshold: float
    min_count: int
    cooldown_minutes: int
    recipient_ids: list[int]
    webhook_ids: list[int]
    enabled: bool
    firing: bool
    last_fired_at: datetime | None
    last_value: float | None
    last_evaluated_at: datetime | None


class AlertRuleList(BaseModel):
    items: list[AlertRuleOut]


class AlertOut(BaseModel):
    id: int
    rule_id: int | None
    kind: str
    data: dict[str, Any]
    created_at: datetime


class AlertPage(BaseModel):
    items: list[AlertOut]
