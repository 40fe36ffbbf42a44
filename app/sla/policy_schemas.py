"""SLA policies as the API takes and shows them (`/sla-policies`, admin).

Like Zendesk's and Freshdesk's: per priority, the minutes allowed to the first
response, to each next response (re-armed by every customer message) and to
resolution, counted on the policy's calendar (or around the clock for a priority with
`business_hours: false`); conditions on the ticket's team, category and channel and
on the customer's organisation or tier (every condition given must hold; a condition
holds for any of the values it lists); `position` orders the policies, the first
match wins; the one `is_default` policy has no conditions and applies when none
matches; `on_breach` lists what happens when a target is missed, besides the
timeline's `sla.breached`.

    {"name": "Gold customers", "calendar_id": 2, "position": 10,
     "conditions": {"tiers": ["gold"], "channels": ["email", "phone"]},
     "targets": {"critical": {"first_response_minutes": 15, "resolution_minutes": 240,
                              "business_hours": false},
                 "high": {"first_response_minutes": 60, "next_response_minutes": 120,
                          "resolution_minutes": 480}},
     "on_breach": ["notify_supervisors", "escalate"]}

Storage (for the migration): `conditions`, `targets` and `on_breach` as JSONB in these
shapes; `PolicyConditions.rule` turns a stored policy into what `first_matching_policy`
(app/sla/matching.py) takes. One default policy: a unique partial index on
`(is_default) WHERE is_default`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    model_validator,
)

from app.common.types import Id, Name, ShortText, reject_nul
from app.models import Channel, Priority
from app.sla.matching import PolicyRule, normalized

# A target of more than a year is a mistake, and would reach past the calendar's horizon.
MAX_TARGET_MINUTES = 365 * 24 * 60


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


TargetMinutes = Annotated[int, Field(ge=1, le=MAX_TARGET_MINUTES, strict=True)]


class PriorityTargets(_Input):
    """What a ticket of one priority is promised. A target left out is not tracked."""

    first_response_minutes: TargetMinutes | None = None
    next_response_minutes: TargetMinutes | None = None
    resolution_minutes: TargetMinutes | None = None
    business_hours: StrictBool = Field(
        True, description="false: counted around the clock, whatever the policy's calendar"
    )

    @model_validator(mode="after")
    def _consistent(self) -> PriorityTargets:
        given = (self.first_response_minutes, self.next_response_minutes, self.resolution_minutes)
        if all(minutes is None for minutes in given):
            raise ValueError("give at least one target, or leave the priority out")
        first, resolution = self.first_response_minutes, self.resolution_minutes
        if first is not None and resolution is not None and first > resolution:
            raise ValueError("the first response cannot be due after the resolution")
        return self

    def durations(self) -> tuple[timedelta | None, timedelta | None, timedelta | None]:
        """First response, next response, resolution."""
        return (
            _minutes(self.first_response_minutes),
            _minutes(self.next_response_minutes),
            _minutes(self.resolution_minutes),
        )


def _minutes(value: int | None) -> timedelta | None:
    return None if value is None else timedelta(minutes=value)


class PolicyTargets(_Input):
    critical: PriorityTargets | None = None
    high: PriorityTargets | None = None
    medium: PriorityTargets | None = None
    low: PriorityTargets | None = None
    planning: PriorityTargets | None = None

    @model_validator(mode="after")
    def _some(self) -> PolicyTargets:
        if all(self.for_priority(priority) is None for priority in Priority):
            raise ValueError("give the targets of at least one priority")
        return self

    def for_priority(self, priority: Priority) -> PriorityTargets | None:
        targets: PriorityTargets | None = getattr(self, priority.value)
        return targets


def _normalized_unique(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    return list(dict.fromkeys(normalized(value) for value in values))


def _unique(values: list[Any] | None) -> list[Any] | None:
    return None if values is None else list(dict.fromkeys(values))


_ANY = "leave the field out to match any value"
TeamIds = Annotated[list[Id], Field(min_length=1, max_length=100), AfterValidator(_unique)]
Keys = Annotated[
    list[ShortText], Field(min_length=1, max_length=100), AfterValidator(_normalized_unique)
]
Channels = Annotated[list[Channel], Field(min_length=1, max_length=10), AfterValidator(_unique)]


class PolicyConditions(_Input):
    """Which tickets a policy is for: every condition given must hold, and a condition
    holds when the ticket's value is one of those listed (categories, organisations
    and tiers compared without regard to case or spacing)."""

    team_ids: TeamIds | None = Field(None, description=f"the ticket's team; {_ANY}")
    categories: Keys | None = Field(None, description=f"the ticket's category; {_ANY}")
    channels: Channels | None = Field(None, description=f"the channel it came in by; {_ANY}")
    organisations: Keys | None = Field(None, description=f"the customer's organisation; {_ANY}")
    tiers: Keys | None = Field(None, description=f"the customer's tier, e.g. gold; {_ANY}")

    def is_empty(self) -> bool:
        return all(getattr(self, name) is None for name in type(self).model_fields)

    def rule(self, policy_id: int, position: int, is_default: bool) -> PolicyRule:
        """These conditions as the matcher takes them (values already normalized)."""

        def kept(values: list[Any] | None) -> frozenset[Any] | None:
            return None if values is None else frozenset(values)

        return PolicyRule(
            id=policy_id,
            position=position,
            is_default=is_default,
            team_ids=kept(self.team_ids),
            categories=kept(self.categories),
            channels=kept([channel.value for channel in self.channels or []] or None),
            organisations=kept(self.organisations),
            tiers=kept(self.tiers),
        )


class BreachAction(StrEnum):
    NOTIFY_SUPERVISORS = "notify_supervisors"  # the team's supervisors are told
    ESCALATE = "escalate"  # along the team's escalation path; the customer told as today
    RAISE_PRIORITY = "raise_priority"  # one step up (critical stays critical)


class SlaPolicyIn(_Input):
    """A policy to create, or to replace one with (PUT; If-Match its version)."""

    name: Name
    description: (
        Annotated[str, StringConstraints(max_length=1000), AfterValidator(reject_nul)] | None
    ) = None
    calendar_id: Id
    position: int = Field(
        0, ge=0, le=1_000_000, strict=True, description="lower first; ties by age, oldest first"
    )
    is_default: StrictBool = False
    conditions: PolicyConditions = Field(default_factory=PolicyConditions)
    targets: PolicyTargets
    on_breach: Annotated[list[BreachAction], Field(max_length=3), AfterValidator(_unique)] = Field(
        default_factory=list
    )

    @model_validator(mode="after")
    def _default_or_conditional(self) -> SlaPolicyIn:
        if self.is_default and not self.conditions.is_empty():
            raise ValueError("the default policy applies when no other does: it has no conditions")
        if not self.is_default and self.conditions.is_empty():
            raise ValueError(
                "a policy without conditions would match every ticket: make it the default "
                "(is_default: true), or give it conditions"
            )
        return self


class SlaPolicyOut(BaseModel):
    id: int
    version: int
    name: str
    description: str | None
    calendar_id: int
    position: int
    is_default: bool
    conditions: PolicyConditions
    targets: PolicyTargets
    on_breach: list[BreachAction]
    created_at: datetime
    updated_at: datetime
