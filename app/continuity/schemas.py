"""Continuity as the API shows and accepts it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from app.common.types import Id
from app.models import AbsenceReason
from app.tickets.schemas import Category, Note


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AbsenceCreate(_Input):
    starts_at: AwareDatetime
    ends_at: AwareDatetime | None = Field(
        default=None, description="When they are back; null while it is open-ended."
    )
    reason: AbsenceReason
    backup_id: Id | None = Field(
        default=None, description="Who takes their tickets while they are away."
    )

    @model_validator(mode="after")
    def _ends_after_start(self) -> AbsenceCreate:
        if self.ends_at is not None and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class AbsenceUpdate(_Input):
    """Every field optional. `ends_at` may be set to now to end an absence early, or to
    null to leave it open-ended; `starts_at` changes only before the absence starts."""

    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    reason: AbsenceReason | None = None
    backup_id: Id | None = Field(default=None, description="null removes the backup")


NOT_NULLABLE_ABSENCE_FIELDS = frozenset({"starts_at", "reason"})


class AbsenceOut(BaseModel):
    id: int
    user_id: int
    starts_at: datetime
    ends_at: datetime | None
    reason: AbsenceReason
    backup_id: int | None
    state: str = Field(description="upcoming, current, or over")
    returned_at: datetime | None = Field(
        description="When hand-back after it was settled (null until then)."
    )
    created_by_id: int | None
    created_at: datetime
    updated_at: datetime


class RoutingRuleCreate(_Input):
    category: Category
    team_id: Id


class RoutingRuleUpdate(_Input):
    team_id: Id


class RoutingRuleOut(BaseModel):
    id: int
    category: str
    team_id: int
    created_at: datetime
    updated_at: datetime


Level = Annotated[int, Field(ge=1, le=20)]


class TeamContinuityUpdate(_Input):
    level: Level | None = Field(default=None, description="1 is first line.")
    escalation_team_id: Id | None = Field(
        default=None, description="The next level up; null: escalations go to a supervisor."
    )
    hand_back: bool | None = None
    hand_back_max_days: Annotated[int, Field(ge=1, le=365)] | None = None


NOT_NULLABLE_TEAM_CONTINUITY_FIELDS = frozenset({"level", "hand_back", "hand_back_max_days"})


class TeamContinuityOut(BaseModel):
    team_id: int
    level: int
    escalation_team_id: int | None
    hand_back: bool
    hand_back_max_days: int


class SkillsUpdate(_Input):
    categories: Annotated[list[Category], Field(max_length=100)] = Field(
        description="What they take; empty: every category."
    )


class SkillsOut(BaseModel):
    user_id: int
    categories: list[str]


class EscalateRequest(_Input):
    team_id: Id | None = Field(default=None, description="The team to escalate to.")
    owner_id: Id | None = Field(default=None, description="Or the person to escalate to.")
    note: Note = Field(description="Why, for whoever takes it; customers never see it.")
