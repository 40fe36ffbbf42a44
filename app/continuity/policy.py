"""A team's continuity settings, with the defaults for teams that never set any."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import TeamContinuity

DEFAULT_LEVEL = 1
DEFAULT_HAND_BACK = True
DEFAULT_HAND_BACK_MAX_DAYS = 14


@dataclass(frozen=True, slots=True)
class TeamPolicy:
    level: int = DEFAULT_LEVEL
    escalation_team_id: int | None = None
    hand_back: bool = DEFAULT_HAND_BACK
    hand_back_max_days: int = DEFAULT_HAND_BACK_MAX_DAYS


DEFAULT_POLICY = TeamPolicy()


async def team_policies(session: AsyncSession, team_ids: Iterable[int]) -> dict[int, TeamPolicy]:
    """The policy of each team (teams without settings are absent: use DEFAULT_POLICY)."""
    ids = list(set(team_ids))
    if not ids:
        return {}
    rows = await session.scalars(select(TeamContinuity).where(TeamContinuity.team_id.in_(ids)))
    return {
        row.team_id: TeamPolicy(
            level=row.level,
            escalation_team_id=row.escalation_team_id,
            hand_back=row.hand_back,
            hand_back_max_days=row.hand_back_max_days,
        )
        for row in rows
    }


async def team_policy(session: AsyncSession, team_id: int | None) -> TeamPolicy:
    if team_id is None:
        return DEFAULT_POLICY
    return (await team_policies(session, [team_id])).get(team_id, DEFAULT_POLICY)
