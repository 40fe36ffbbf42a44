"""Who is available now: active, an agent or supervisor, and not in an absence."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Absence, Role, User

# Who can own tickets; admins and the requester side never do.
OWNER_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR})


def absence_now(user_id: Any, now: datetime | ColumnElement[datetime]) -> ColumnElement[bool]:
    """`user_id` is in an absence at `now` (an id, or a column to correlate with)."""
    return and_(
        Absence.user_id == user_id,
        Absence.starts_at <= now,
        or_(Absence.ends_at.is_(None), Absence.ends_at > now),
    )


def available_clause(now: datetime | ColumnElement[datetime]) -> ColumnElement[bool]:
    """Narrows a query over User to the people who may get tickets right now (`now` may
    be a bound parameter, for a statement built once)."""
    return and_(
        User.active.is_(True),
        User.role.in_(OWNER_ROLES),
        ~exists().where(absence_now(User.id, now)),
    )


def unavailable_clause(now: datetime) -> ColumnElement[bool]:
    """Owners who cannot hold tickets now: deactivated (gone for good) or away."""
    return and_(
        User.role.in_(OWNER_ROLES),
        or_(User.active.is_(False), exists().where(absence_now(User.id, now))),
    )


async def absent_user_ids(
    session: AsyncSession, user_ids: Iterable[int], now: datetime
) -> set[int]:
    ids = list(user_ids)
    if not ids:
        return set()
    rows = await session.scalars(
        select(Absence.user_id).where(absence_now(Absence.user_id, now), Absence.user_id.in_(ids))
    )
    return set(rows)


async def available_ids(session: AsyncSession, user_ids: Iterable[int], now: datetime) -> set[int]:
    ids = list(user_ids)
    if not ids:
        return set()
    rows = await session.scalars(select(User.id).where(User.id.in_(ids), available_clause(now)))
    return set(rows)


async def current_absence(session: AsyncSession, user_id: int, now: datetime) -> Absence | None:
    """The absence someone is in now (the one that ends last, if they overlap)."""
    absence: Absence | None = await session.scalar(
        select(Absence)
        .where(absence_now(user_id, now))
        .order_by(Absence.ends_at.desc().nulls_first(), Absence.id.desc())
        .limit(1)
    )
    return absence


def is_available(user: User, absent: bool) -> bool | None:
    """The `available` flag of a user: null for those who never own tickets."""
    if user.role not in OWNER_ROLES:
        return None
    return user.active and not absent
