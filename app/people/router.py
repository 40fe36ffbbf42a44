"""HTTP for people: users, the caller (`/me`) and teams."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.auth.dependencies import AdminUser, CurrentUser, ManagerUser, StaffUser
from app.auth.service import count_active_tokens
from app.common.openapi import problems
from app.common.pagination import Cursor, Limit, Page, decode_id_cursor, next_id_cursor
from app.common.types import MAX_BIGINT, IdPath
from app.db import DbSession
from app.errors import Forbidden
from app.models import Role, Team, User
from app.people import service
from app.people.availability import absent_user_ids, is_available
from app.people.schemas import (
    TeamCreate,
    TeamOut,
    TeamUpdate,
    UserCreate,
    UserOut,
    UserUpdate,
    UserUpdated,
)

router = APIRouter(tags=["people"])


def _user_out(user: User, team_ids: list[int], absent: bool = False) -> UserOut:
    return UserOut.model_validate(
        {**_columns(user), "team_ids": team_ids, "available": is_available(user, absent)}
    )


async def _users_out(session: DbSession, users: Sequence[User]) -> list[UserOut]:
    ids = [u.id for u in users]
    teams = await service.team_ids_of(session, ids)
    absent = await absent_user_ids(session, ids, datetime.now(UTC))
    return [_user_out(u, teams.get(u.id, []), u.id in absent) for u in users]


def _team_out(team: Team, member_ids: list[int]) -> TeamOut:
    return TeamOut.model_validate({**_columns(team), "member_ids": member_ids})


def _columns(row: User | Team) -> dict[str, object]:
    return {column.key: getattr(row, column.key) for column in row.__mapper__.column_attrs}


@router.get("/me", responses=problems())
async def get_me(session: DbSession, user: CurrentUser) -> UserOut:
    return (await _users_out(session, [user]))[0]


@router.post("/users", status_code=status.HTTP_201_CREATED, responses=problems(403, 409))
async def create_user(
    session: DbSession, _admin: AdminUser, data: UserCreate, response: Response
) -> UserOut:
    user = await service.create_user(session, data)
    response.headers["Location"] = f"/api/v1/users/{user.id}"
    return _user_out(user, sorted(data.team_ids))


@router.get("/users", responses=problems(400, 403))
async def list_users(
    session: DbSession,
    _staff: StaffUser,
    role: Role | None = None,
    active: bool | None = None,
    team_id: Annotated[int | None, Query(ge=1, le=MAX_BIGINT)] = None,
    available: Annotated[
        bool | None,
        Query(
            description="true: agents and supervisors who can get tickets now; false: "
            "those who cannot (away or deactivated)."
        ),
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[UserOut]:
    users = await service.list_users(
        session,
        role=role,
        active=active,
        team_id=team_id,
        available=available,
        after_id=decode_id_cursor(cursor),
        limit=limit,
    )
    next_cursor = next_id_cursor([u.id for u in users], limit)
    return Page(items=await _users_out(session, users), next_cursor=next_cursor)


@router.get("/users/{user_id}", responses=problems(403, 404))
async def get_user(session: DbSession, caller: CurrentUser, user_id: IdPath) -> UserOut:
    if not caller.role.is_staff and caller.id != user_id:
        raise Forbidden("You may only see your own user.")
    user = await service.get_user(session, user_id)
    return (await _users_out(session, [user]))[0]


@router.patch("/users/{user_id}", responses=problems(403, 404, 409))
async def update_user(
    session: DbSession, caller: CurrentUser, user_id: IdPath, data: UserUpdate
) -> UserUpdated:
    """Change a user. `{"active": false}` marks someone who has left: every token they
    hold is revoked at once, and reactivating them later does not restore those tokens.
    The answer says how many this change revoked and how many the user holds now."""
    change = await service.update_user(session, caller, user_id, data)
    shown = (await _users_out(session, [change.user]))[0]
    active = await count_active_tokens(session, change.user.id)
    return UserUpdated(
        **shown.model_dump(), tokens_revoked=change.tokens_revoked, active_tokens=active
    )


@router.post("/teams", status_code=status.HTTP_201_CREATED, responses=problems(403, 409))
async def create_team(
    session: DbSession, _manager: ManagerUser, data: TeamCreate, response: Response
) -> TeamOut:
    team = await service.create_team(session, data)
    response.headers["Location"] = f"/api/v1/teams/{team.id}"
    return _team_out(team, sorted(data.member_ids))


@router.get("/teams", responses=problems(400, 403))
async def list_teams(
    session: DbSession, _staff: StaffUser, limit: Limit = 50, cursor: Cursor = None
) -> Page[TeamOut]:
    teams = await service.list_teams(session, after_id=decode_id_cursor(cursor), limit=limit)
    members = await service.member_ids_of(session, [t.id for t in teams])
    next_cursor = next_id_cursor([t.id for t in teams], limit)
    return Page(items=[_team_out(t, members.get(t.id, [])) for t in teams], next_cursor=next_cursor)


@router.get("/teams/{team_id}", responses=problems(403, 404))
async def get_team(session: DbSession, _staff: StaffUser, team_id: IdPath) -> TeamOut:
    team = await service.get_team(session, team_id)
    members = await service.member_ids_of(session, [team.id])
    return _team_out(team, members.get(team.id, []))


@router.patch("/teams/{team_id}", responses=problems(403, 404, 409))
async def update_team(
    session: DbSession, _manager: ManagerUser, team_id: IdPath, data: TeamUpdate
) -> TeamOut:
    team = await service.update_team(session, team_id, data)
    members = await service.member_ids_of(session, [team.id])
    return _team_out(team, members.get(team.id, []))
