"""People use cases: creating and changing users and teams. Services flush, never commit."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.notices import announce_access_changed
from app.errors import Conflict, Forbidden, NotFound, UnprocessableEntity
from app.models import STAFF_ROLES, ApiToken, Role, Team, TeamMember, User
from app.people.availability import available_clause, unavailable_clause
from app.people.schemas import (
    NOT_NULLABLE_TEAM_FIELDS,
    NOT_NULLABLE_USER_FIELDS,
    PROFILE_FIELDS,
    TeamCreate,
    TeamUpdate,
    UserCreate,
    UserUpdate,
    explicit_changes,
)


async def get_user(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(f"User {user_id} does not exist.")
    return user


async def find_user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == email.strip().lower()))


async def create_user(session: AsyncSession, data: UserCreate) -> User:
    email = data.email.lower()
    if await find_user_by_email(session, email) is not None:
        raise Conflict(f"A user with the email {email} already exists.")
    if data.team_ids:
        _require_staff_role(data.role, "join a team")
        await _require_teams(session, data.team_ids)
    user = User(
        email=email,
        name=data.name,
        role=data.role,
        phone=data.phone,
        timezone=data.timezone,
        locale=data.locale,
    )
    session.add(user)
    await _flush_or_conflict(session, f"A user with the email {email} already exists.")
    await _set_memberships_of_user(session, user.id, data.team_ids)
    return user


@dataclass(frozen=True, slots=True)
class UserChange:
    user: User
    tokens_revoked: int  # by this change: deactivation revokes every token


async def update_user(
    session: AsyncSession, actor: User, user_id: int, data: UserUpdate
) -> UserChange:
    changes = explicit_changes(data, NOT_NULLABLE_USER_FIELDS)
    if actor.role is not Role.ADMIN:
        if actor.id != user_id:
            raise Forbidden("Only an admin may change other people.")
        if not set(changes) <= PROFILE_FIELDS:
            raise Forbidden("You may change only your own name, phone, timezone and locale.")
    user = await session.get(User, user_id, with_for_update=True)
    if user is None:
        raise NotFound(f"User {user_id} does not exist.")

    new_role = changes.get("role", user.role)
    stays_admin = new_role is Role.ADMIN and changes.get("active", user.active) is True
    if user.role is Role.ADMIN and user.active and not stays_admin:
        await _require_another_active_admin(session, user.id)
    team_ids = changes.pop("team_ids", None)
    if team_ids is not None or "role" in changes:
        current = await team_ids_of(session, [user.id])
        effective = team_ids if team_ids is not None else current.get(user.id, [])
        if effective:
            assert isinstance(new_role, Role)
            _require_staff_role(new_role, "stay in a team")
    access_changed = changes.get("active") is False and user.active
    access_changed |= "role" in changes and changes["role"] is not user.role
    for field, value in changes.items():
        setattr(user, field, value)
    if "email_undeliverable_at" in changes:
        user.email_undeliverable_reason = None
    await session.flush()
    tokens_revoked = 0
    if changes.get("active") is False:
        # Someone who left keeps no way in, even if the account is reactivated later.
        revoked = await session.execute(
            update(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=func.now())
        )
        tokens_revoked = revoked.rowcount  # type: ignore[attr-defined]
    if access_changed:
        await announce_access_changed(session, user.id)
    if team_ids is not None:
        assert isinstance(team_ids, list)
        await _require_teams(session, team_ids)
        await _set_memberships_of_user(session, user.id, team_ids)
    await session.refresh(user)
    return UserChange(user, tokens_revoked)


async def list_users(
    session: AsyncSession,
    *,
    role: Role | None,
    active: bool | None,
    team_id: int | None,
    after_id: int | None,
    limit: int,
    available: bool | None = None,
) -> Sequence[User]:
    query = select(User).order_by(User.id).limit(limit)
    if available is not None:
        now = datetime.now(UTC)
        query = query.where(available_clause(now) if available else unavailable_clause(now))
    if role is not None:
        query = query.where(User.role == role)
    if active is not None:
        query = query.where(User.active == active)
    if team_id is not None:
        query = query.where(
            User.id.in_(select(TeamMember.user_id).where(TeamMember.team_id == team_id))
        )
    if after_id is not None:
        query = query.where(User.id > after_id)
    return (await session.scalars(query)).all()


async def team_ids_of(session: AsyncSession, user_ids: Iterable[int]) -> dict[int, list[int]]:
    rows = await session.execute(
        select(TeamMember.user_id, TeamMember.team_id)
        .where(TeamMember.user_id.in_(list(user_ids)))
        .order_by(TeamMember.team_id)
    )
    result: dict[int, list[int]] = {}
    for user_id, team_id in rows:
        result.setdefault(user_id, []).append(team_id)
    return result


async def get_team(session: AsyncSession, team_id: int) -> Team:
    team = await session.get(Team, team_id)
    if team is None:
        raise NotFound(f"Team {team_id} does not exist.")
    return team


async def create_team(session: AsyncSession, data: TeamCreate) -> Team:
    await _require_no_team_named(session, data.name)
    await _require_staff_members(session, data.member_ids)
    team = Team(name=data.name, assignment=data.assignment, email_address=data.email_address)
    session.add(team)
    await _flush_or_conflict(
        session, f"A team named {data.name!r} (or with that email address) already exists."
    )
    await _set_members_of_team(session, team.id, data.member_ids)
    return team


async def update_team(session: AsyncSession, team_id: int, data: TeamUpdate) -> Team:
    changes = explicit_changes(data, NOT_NULLABLE_TEAM_FIELDS)
    team = await session.get(Team, team_id, with_for_update=True)
    if team is None:
        raise NotFound(f"Team {team_id} does not exist.")
    if "name" in changes and changes["name"] != team.name:
        await _require_no_team_named(session, str(changes["name"]))
    member_ids = changes.pop("member_ids", None)
    for field, value in changes.items():
        setattr(team, field, value)
    await _flush_or_conflict(
        session, f"A team named {team.name!r} (or with that email address) already exists."
    )
    if member_ids is not None:
        assert isinstance(member_ids, list)
        await _require_staff_members(session, member_ids)
        await _set_members_of_team(session, team.id, member_ids)
    await session.refresh(team)
    return team


async def list_teams(session: AsyncSession, *, after_id: int | None, limit: int) -> Sequence[Team]:
    query = select(Team).order_by(Team.id).limit(limit)
    if after_id is not None:
        query = query.where(Team.id > after_id)
    return (await session.scalars(query)).all()


async def member_ids_of(session: AsyncSession, team_ids: Iterable[int]) -> dict[int, list[int]]:
    rows = await session.execute(
        select(TeamMember.team_id, TeamMember.user_id)
        .where(TeamMember.team_id.in_(list(team_ids)))
        .order_by(TeamMember.user_id)
    )
    result: dict[int, list[int]] = {}
    for team_id, user_id in rows:
        result.setdefault(team_id, []).append(user_id)
    return result


def _require_staff_role(role: Role, action: str) -> None:
    if role not in STAFF_ROLES:
        raise UnprocessableEntity(f"Only admins, supervisors and agents can {action}.")


async def _require_teams(session: AsyncSession, team_ids: list[int]) -> None:
    found = set(await session.scalars(select(Team.id).where(Team.id.in_(team_ids))))
    missing = sorted(set(team_ids) - found)
    if missing:
        raise UnprocessableEntity(f"These teams do not exist: {missing}.")


async def _require_staff_members(session: AsyncSession, user_ids: list[int]) -> None:
    if not user_ids:
        return
    rows = await session.execute(select(User.id, User.role).where(User.id.in_(user_ids)))
    roles = {user_id: role for user_id, role in rows}
    missing = sorted(set(user_ids) - set(roles))
    if missing:
        raise UnprocessableEntity(f"These users do not exist: {missing}.")
    not_staff = sorted(uid for uid, role in roles.items() if role not in STAFF_ROLES)
    if not_staff:
        raise UnprocessableEntity(
            f"Only admins, supervisors and agents can be team members, not users {not_staff}."
        )


async def _require_no_team_named(session: AsyncSession, name: str) -> None:
    if await session.scalar(select(Team.id).where(Team.name == name)) is not None:
        raise Conflict(f"A team named {name!r} already exists.")


# Any fixed number: the key of the lock taken by every change that may remove an admin.
_ADMIN_SET_LOCK = 7_215_334_918_001


async def _require_another_active_admin(session: AsyncSession, user_id: int) -> None:
    # Two admins stepping down at once would each count the other as still active and
    # both succeed. Such changes take turns on this lock (held until commit), and each
    # statement in READ COMMITTED sees the changes committed before it.
    await session.execute(select(func.pg_advisory_xact_lock(_ADMIN_SET_LOCK)))
    others = await session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.role == Role.ADMIN, User.active.is_(True), User.id != user_id)
    )
    if not others:
        raise Conflict("This is the last active admin; make someone else admin first.")


async def _set_memberships_of_user(
    session: AsyncSession, user_id: int, team_ids: list[int]
) -> None:
    await session.execute(delete(TeamMember).where(TeamMember.user_id == user_id))
    if team_ids:
        await session.execute(
            insert(TeamMember), [{"user_id": user_id, "team_id": tid} for tid in team_ids]
        )


async def _set_members_of_team(session: AsyncSession, team_id: int, user_ids: list[int]) -> None:
    await session.execute(delete(TeamMember).where(TeamMember.team_id == team_id))
    if user_ids:
        await session.execute(
            insert(TeamMember), [{"team_id": team_id, "user_id": uid} for uid in user_ids]
        )


async def _flush_or_conflict(session: AsyncSession, message: str) -> None:
    # The explicit checks above give the friendly answer; this one closes the race
    # where two requests pass them at the same moment.
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(message) from exc
