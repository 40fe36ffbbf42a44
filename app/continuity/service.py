"""Continuity use cases: absences, routing rules, team levels and hand-back, skills.

Services flush and never commit. A change that makes someone unavailable right now (an
absence that has started, one that ended) wakes the scheduler with pg_notify, which
PostgreSQL delivers at commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.continuity.policy import DEFAULT_POLICY, team_policy
from app.continuity.schemas import (
    NOT_NULLABLE_ABSENCE_FIELDS,
    NOT_NULLABLE_TEAM_CONTINUITY_FIELDS,
    AbsenceCreate,
    AbsenceUpdate,
    RoutingRuleCreate,
    TeamContinuityOut,
    TeamContinuityUpdate,
)
from app.errors import Conflict, Forbidden, NotFound, UnprocessableEntity
from app.models import Absence, AgentSkill, Role, RoutingRule, Team, TeamContinuity, User
from app.people.availability import OWNER_ROLES
from app.people.schemas import explicit_changes

WAKE_CHANNEL = "helpdesk_continuity"
_MANAGERS = frozenset({Role.ADMIN, Role.SUPERVISOR})


async def wake_scheduler(session: AsyncSession) -> None:
    """Ask the scheduler (in whichever process holds it) to run now, after commit."""
    await session.execute(select(func.pg_notify(WAKE_CHANNEL, "")))


# -- absences --------------------------------------------------------------------


def _may_manage_absences(actor: User, user_id: int) -> None:
    if actor.role in _MANAGERS:
        return
    if actor.role is Role.AGENT and actor.id == user_id:
        return
    if actor.role is Role.AGENT:
        raise Forbidden("Agents manage only their own absences; supervisors manage anyone's.")
    raise Forbidden("Absences are for staff.")


async def _absent_user(session: AsyncSession, user_id: int) -> User:
    # Locked: absences of one person are written one at a time, so two overlapping
    # ones cannot both pass the overlap check.
    user = await session.get(User, user_id, with_for_update=True)
    if user is None:
        raise NotFound(f"User {user_id} does not exist.")
    if user.role not in OWNER_ROLES:
        raise UnprocessableEntity("Only agents and supervisors have absences.")
    return user


async def _require_backup(session: AsyncSession, backup_id: int, user_id: int) -> None:
    if backup_id == user_id:
        raise UnprocessableEntity("Someone cannot be their own backup.")
    backup = await session.get(User, backup_id)
    if backup is None or backup.role not in OWNER_ROLES:
        raise UnprocessableEntity(f"User {backup_id} is not an agent or supervisor.")
    if not backup.active:
        raise UnprocessableEntity(f"User {backup_id} is deactivated and cannot be a backup.")


async def _require_no_overlap(
    session: AsyncSession,
    user_id: int,
    starts_at: datetime,
    ends_at: datetime | None,
    *,
    other_than: int | None = None,
) -> None:
    query = select(Absence.id).where(
        Absence.user_id == user_id,
        or_(Absence.ends_at.is_(None), Absence.ends_at > starts_at),
    )
    if ends_at is not None:
        query = query.where(Absence.starts_at < ends_at)
    if other_than is not None:
        query = query.where(Absence.id != other_than)
    clash = await session.scalar(query.limit(1))
    if clash is not None:
        raise Conflict(
            f"It overlaps absence {clash}; change that one instead.",
            extra={"overlapping_absence_id": clash},
        )


async def create_absence(
    session: AsyncSession, actor: User, user_id: int, data: AbsenceCreate
) -> Absence:
    _may_manage_absences(actor, user_id)
    user = await _absent_user(session, user_id)
    if not user.active:
        raise Conflict(f"User {user_id} is deactivated: gone for good, not away.")
    now = datetime.now(UTC)
    if data.ends_at is not None and data.ends_at <= now:
        raise UnprocessableEntity("This absence is already over; record absences to come.")
    if data.backup_id is not None:
        await _require_backup(session, data.backup_id, user_id)
    await _require_no_overlap(session, user_id, data.starts_at, data.ends_at)
    absence = Absence(
        user_id=user_id,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        reason=data.reason,
        backup_id=data.backup_id,
        created_by_id=actor.id,
    )
    session.add(absence)
    await session.flush()
    if absence.starts_at <= now:
        await wake_scheduler(session)  # already started: hand over at once
    await session.refresh(absence)
    return absence


async def get_absence(
    session: AsyncSession, actor: User, user_id: int, absence_id: int, *, for_update: bool = False
) -> Absence:
    _may_manage_absences(actor, user_id)
    absence = await session.get(Absence, absence_id, with_for_update=for_update or None)
    if absence is None or absence.user_id != user_id:
        raise NotFound(f"Absence {absence_id} of user {user_id} does not exist.")
    return absence


async def list_absences(
    session: AsyncSession, actor: User, user_id: int, *, after_id: int | None, limit: int
) -> Sequence[Absence]:
    _may_manage_absences(actor, user_id)
    if await session.get(User, user_id) is None:
        raise NotFound(f"User {user_id} does not exist.")
    query = select(Absence).where(Absence.user_id == user_id).order_by(Absence.id).limit(limit)
    if after_id is not None:
        query = query.where(Absence.id > after_id)
    return (await session.scalars(query)).all()


async def update_absence(
    session: AsyncSession, actor: User, user_id: int, absence_id: int, data: AbsenceUpdate
) -> Absence:
    changes: dict[str, Any] = explicit_changes(data, NOT_NULLABLE_ABSENCE_FIELDS)
    _may_manage_absences(actor, user_id)
    await _absent_user(session, user_id)
    absence = await get_absence(session, actor, user_id, absence_id, for_update=True)
    if absence.returned_at is not None:
        raise Conflict(f"Absence {absence_id} is over and settled; record a new one.")
    now = datetime.now(UTC)
    started = absence.starts_at <= now
    starts_at: datetime = changes.get("starts_at", absence.starts_at)
    ends_at: datetime | None = changes.get("ends_at", absence.ends_at)
    if "starts_at" in changes and started and starts_at != absence.starts_at:
        raise Conflict("This absence has started; only its end, reason and backup can change.")
    if ends_at is not None and ends_at <= starts_at:
        raise UnprocessableEntity("ends_at must be after starts_at.")
    if ends_at is not None and ends_at <= now and not started:
        raise UnprocessableEntity("An absence that has not started cannot end in the past.")
    if changes.get("backup_id") is not None:
        await _require_backup(session, changes["backup_id"], user_id)
    await _require_no_overlap(session, user_id, starts_at, ends_at, other_than=absence.id)
    for field, value in changes.items():
        setattr(absence, field, value)
    await session.flush()
    if absence.starts_at <= now:
        await wake_scheduler(session)  # started, or ended: hand over or hand back now
    await session.refresh(absence)
    return absence


async def delete_absence(session: AsyncSession, actor: User, user_id: int, absence_id: int) -> None:
    absence = await get_absence(session, actor, user_id, absence_id, for_update=True)
    if absence.starts_at <= datetime.now(UTC):
        raise Conflict(
            f"Absence {absence_id} has started; end it by setting ends_at instead, so "
            "its tickets can be handed back."
        )
    await session.delete(absence)
    await session.flush()


def absence_state(absence: Absence, now: datetime) -> str:
    if absence.starts_at > now:
        return "upcoming"
    if absence.ends_at is None or absence.ends_at > now:
        return "current"
    return "over"


# -- routing rules ---------------------------------------------------------------


async def _require_team(session: AsyncSession, team_id: int) -> Team:
    team = await session.get(Team, team_id)
    if team is None:
        raise UnprocessableEntity(f"Team {team_id} does not exist.")
    return team


async def create_rule(session: AsyncSession, data: RoutingRuleCreate) -> RoutingRule:
    await _require_team(session, data.team_id)
    existing = await session.scalar(
        select(RoutingRule.id).where(RoutingRule.category == data.category)
    )
    if existing is not None:
        raise Conflict(
            f"Category {data.category!r} is already routed by rule {existing}.",
            extra={"existing_rule_id": existing},
        )
    rule = RoutingRule(category=data.category, team_id=data.team_id)
    session.add(rule)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise Conflict(f"Category {data.category!r} is already routed.") from None
    await session.refresh(rule)
    return rule


async def get_rule(session: AsyncSession, rule_id: int) -> RoutingRule:
    rule = await session.get(RoutingRule, rule_id)
    if rule is None:
        raise NotFound(f"Routing rule {rule_id} does not exist.")
    return rule


async def list_rules(
    session: AsyncSession, *, after_id: int | None, limit: int
) -> Sequence[RoutingRule]:
    query = select(RoutingRule).order_by(RoutingRule.id).limit(limit)
    if after_id is not None:
        query = query.where(RoutingRule.id > after_id)
    return (await session.scalars(query)).all()


async def update_rule(session: AsyncSession, rule_id: int, team_id: int) -> RoutingRule:
    rule = await get_rule(session, rule_id)
    await _require_team(session, team_id)
    rule.team_id = team_id
    await session.flush()
    await session.refresh(rule)
    return rule


async def delete_rule(session: AsyncSession, rule_id: int) -> None:
    await session.delete(await get_rule(session, rule_id))
    await session.flush()


# -- team levels and hand-back ---------------------------------------------------


async def get_team_continuity(session: AsyncSession, team_id: int) -> TeamContinuityOut:
    if await session.get(Team, team_id) is None:
        raise NotFound(f"Team {team_id} does not exist.")
    policy = await team_policy(session, team_id)
    return TeamContinuityOut(
        team_id=team_id,
        level=policy.level,
        escalation_team_id=policy.escalation_team_id,
        hand_back=policy.hand_back,
        hand_back_max_days=policy.hand_back_max_days,
    )


async def update_team_continuity(
    session: AsyncSession, team_id: int, data: TeamContinuityUpdate
) -> TeamContinuityOut:
    changes: dict[str, Any] = explicit_changes(data, NOT_NULLABLE_TEAM_CONTINUITY_FIELDS)
    if await session.get(Team, team_id, with_for_update=True) is None:
        raise NotFound(f"Team {team_id} does not exist.")
    next_team = changes.get("escalation_team_id")
    if next_team is not None:
        if next_team == team_id:
            raise UnprocessableEntity("A team cannot escalate to itself.")
        await _require_team(session, next_team)
    await session.execute(
        pg_insert(TeamContinuity)
        .values(
            team_id=team_id,
            level=DEFAULT_POLICY.level,
            hand_back=DEFAULT_POLICY.hand_back,
            hand_back_max_days=DEFAULT_POLICY.hand_back_max_days,
        )
        .on_conflict_do_nothing()
    )
    row = await session.get(TeamContinuity, team_id, with_for_update=True, populate_existing=True)
    assert row is not None
    for field, value in changes.items():
        setattr(row, field, value)
    await session.flush()
    return await get_team_continuity(session, team_id)


# -- skills ----------------------------------------------------------------------


async def _skilled_user(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(f"User {user_id} does not exist.")
    if user.role not in OWNER_ROLES:
        raise UnprocessableEntity("Only agents and supervisors have skills.")
    return user


async def get_skills(session: AsyncSession, user_id: int) -> list[str]:
    await _skilled_user(session, user_id)
    rows = await session.scalars(
        select(AgentSkill.category)
        .where(AgentSkill.user_id == user_id)
        .order_by(AgentSkill.category)
    )
    return list(rows)


async def set_skills(session: AsyncSession, user_id: int, categories: list[str]) -> list[str]:
    await _skilled_user(session, user_id)
    await session.execute(delete(AgentSkill).where(AgentSkill.user_id == user_id))
    unique = sorted(set(categories))
    if unique:
        await session.execute(
            insert(AgentSkill), [{"user_id": user_id, "category": c} for c in unique]
        )
    return unique
