"""Who sees which figures: agents their own and their teams'; supervisors and admins
everything; customers nothing; integrations only through a token holding the scope
`metrics:read`, and then what a supervisor reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.dependencies import CurrentUser, token_scopes
from app.auth.scopes import TokenScope, holds
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


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who reads the figures, and whether they may read all of them (supervisors,
    admins, an integration's token with `metrics:read`) or only an agent's share."""

    user: User
    sees_all: bool


def viewer_of(user: User, scopes: frozenset[str]) -> Viewer:
    """The viewer a request is, or 403 for who may read no figure at all."""
    match user.role:
        case Role.ADMIN | Role.SUPERVISOR:
            return Viewer(user, sees_all=True)
        case Role.AGENT:
            return Viewer(user, sees_all=False)
        case Role.INTEGRATION if holds(user, scopes, TokenScope.METRICS_READ):
            return Viewer(user, sees_all=True)
        case Role.INTEGRATION:
            raise Forbidden(
                "An integration reads metrics only with a token holding the scope "
                "metrics:read (an admin grants it when issuing the token)."
            )
    raise Forbidden("Metrics are for staff: agents, supervisors and admins.")


async def _viewer(request: Request, user: CurrentUser) -> Viewer:
    # Read once `user` is resolved: authenticating is what records the token's scopes.
    return viewer_of(user, token_scopes(request))


# The caller of a figures endpoint: 401 without a valid token, 403 for who sees none.
MetricsViewer = Annotated[Viewer, Depends(_viewer)]


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


async def allowed(session: AsyncSession, viewer: Viewer, scope: Scope) -> Scope:
    """The scope the viewer may read: an agent asking for nothing gets their own figures."""
    if viewer.sees_all:
        return scope
    user = viewer.user
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
