"""Who sees which figures: agents their own and their teams'; supervisors and admins
everything; customers nothing; integrations nothing (there are no token scopes yet to
grant them metrics explicitly)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Forbidden, UnprocessableEntity
from app.metrics.definitions import ALL
from app.models import Role, TeamMember, User


@dataclass(frozen=True, slots=True)
class Scope:
    """The one dimension value the figures are for (`*` and None: the whole desk)."""

    dim: str
    val: str | None

    @property
    def whole_desk(self) -> bool:
        return self.dim == ALL


DESK = Scope(ALL, "")


def require_staff(user: User) -> None:
    if user.role in (Role.CUSTOMER, Role.INTEGRATION):
        raise Forbidden("Metrics are for staff: agents, supervisors and admins.")


def is_manager(user: User) -> bool:
    return user.role in (Role.ADMIN, Role.SUPERVISOR)


async def teams_of(session: AsyncSession, user: User) -> set[int]:
    rows = await session.scalars(select(TeamMember.team_id).where(TeamMember.user_id == user.id))
    return set(rows)


def requested(
    *,
    team_id: int | None,
    agent_id: int | None,
    channel: str | None,
    category: str | None,
    priority: str | None,
    tag: str | None,
) -> Scope:
    """The filter asked for: at most one (the rollups keep one dimension per row)."""
    given = [
        (dim, value)
        for dim, value in (
            ("team", None if team_id is None else str(team_id)),
            ("agent", None if agent_id is None else str(agent_id)),
            ("channel", channel),
            ("category", category),
            ("priority", priority),
            ("tag", tag),
        )
        if value is not None
    ]
    if len(given) > 1:
        names = ", ".join(dim if dim not in ("team", "agent") else f"{dim}_id" for dim, _ in given)
        raise UnprocessableEntity(f"Filter by one dimension at a time (got {names}).")
    if not given:
        return DESK
    dim, value = given[0]
    return Scope(dim, value)


async def allowed(session: AsyncSession, user: User, scope: Scope) -> Scope:
    """The scope the user may read: an agent asking for nothing gets their own figures."""
    require_staff(user)
    if is_manager(user):
        return scope
    if scope.whole_desk:
        return Scope("agent", str(user.id))
    if scope.dim == "agent" and scope.val == str(user.id):
        return scope
    if (
        scope.dim == "team"
        and scope.val is not None
        and int(scope.val) in await teams_of(session, user)
    ):
        return scope
    raise Forbidden("Agents see their own figures and their teams' (agent_id=me or team_id).")
