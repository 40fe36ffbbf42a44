"""Calendars and SLA policies: create, read, replace (If-Match their version), delete.

Services flush and never commit. Whatever the stored JSON says was checked by the
schemas on the way in; names are unique; one policy is the default, and it can be
replaced but not deleted (a ticket must always fall under some policy); a calendar a
policy uses cannot be deleted.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict, NotFound, PreconditionFailed, UnprocessableEntity
from app.models import BusinessCalendarRow, SlaPolicy, Team
from app.sla.calendar_schemas import CalendarIn, CalendarOut
from app.sla.policy_schemas import SlaPolicyIn, SlaPolicyOut


def etag(version: int) -> str:
    return f'"{version}"'


def check_version(if_match: str | None, what: str, version: int) -> None:
    """412 unless If-Match is absent, `*`, or names the current version."""
    if if_match is None:
        return
    candidates = [part.strip() for part in if_match.split(",")]
    if "*" in candidates or etag(version) in candidates:
        return
    raise PreconditionFailed(
        f"{what} has changed: it is at version {version} (ETag {etag(version)}); reload it "
        "and try again.",
        extra={"current_version": version},
    )


# -- calendars ------------------------------------------------------------------------


def calendar_out(row: BusinessCalendarRow) -> CalendarOut:
    return CalendarOut.model_validate(row, from_attributes=True)


async def _calendar_named(session: AsyncSession, name: str, but: int | None = None) -> None:
    query = select(BusinessCalendarRow.id).where(BusinessCalendarRow.name == name)
    if but is not None:
        query = query.where(BusinessCalendarRow.id != but)
    if await session.scalar(query) is not None:
        raise Conflict(f"A calendar named {name!r} exists already.")


def _calendar_values(data: CalendarIn) -> dict[str, Any]:
    dumped = data.model_dump(mode="json", exclude_none=True)
    return {
        "name": data.name,
        "time_zone": data.time_zone,
        "always_open": data.always_open,
        "hours": dumped["hours"],
        "holidays": dumped["holidays"],
    }


async def create_calendar(session: AsyncSession, data: CalendarIn) -> BusinessCalendarRow:
    await _calendar_named(session, data.name)
    row = BusinessCalendarRow(**_calendar_values(data), version=1)
    session.add(row)
    await session.flush()
    await session.refresh(row)
    return row


async def get_calendar(session: AsyncSession, calendar_id: int) -> BusinessCalendarRow:
    row = await session.get(BusinessCalendarRow, calendar_id)
    if row is None:
        raise NotFound(f"Calendar {calendar_id} not found.")
    return row


async def list_calendars(
    session: AsyncSession, after_id: int | None, limit: int
) -> list[BusinessCalendarRow]:
    query = select(BusinessCalendarRow).order_by(BusinessCalendarRow.id).limit(limit)
    if after_id is not None:
        query = query.where(BusinessCalendarRow.id > after_id)
    return list(await session.scalars(query))


async def replace_calendar(
    session: AsyncSession, calendar_id: int, data: CalendarIn, if_match: str | None
) -> BusinessCalendarRow:
    row = await get_calendar(session, calendar_id)
    check_version(if_match, f"Calendar {calendar_id}", row.version)
    await _calendar_named(session, data.name, but=calendar_id)
    for key, value in _calendar_values(data).items():
        setattr(row, key, value)
    # A new version is a new key in the compiled-calendar cache: nobody reads it stale.
    row.version += 1
    await session.flush()
    await session.refresh(row)
    return row


async def delete_calendar(session: AsyncSession, calendar_id: int, if_match: str | None) -> None:
    row = await get_calendar(session, calendar_id)
    check_version(if_match, f"Calendar {calendar_id}", row.version)
    users = await session.scalar(
        select(func.count()).select_from(SlaPolicy).where(SlaPolicy.calendar_id == calendar_id)
    )
    if users:
        raise Conflict(
            f"Calendar {calendar_id} is used by {users} SLA policies; change them first."
        )
    await session.delete(row)
    await session.flush()


# -- policies -------------------------------------------------------------------------


def policy_out(row: SlaPolicy) -> SlaPolicyOut:
    return SlaPolicyOut.model_validate(row, from_attributes=True)


async def _check_policy(session: AsyncSession, data: SlaPolicyIn, but: int | None) -> None:
    if await session.get(BusinessCalendarRow, data.calendar_id) is None:
        raise UnprocessableEntity(
            f"Calendar {data.calendar_id} does not exist.", loc=("body", "calendar_id")
        )
    team_ids = data.conditions.team_ids or []
    if team_ids:
        known = set(await session.scalars(select(Team.id).where(Team.id.in_(team_ids))))
        missing = [team_id for team_id in team_ids if team_id not in known]
        if missing:
            raise UnprocessableEntity(
                f"No such team: {missing[0]}.", loc=("body", "conditions", "team_ids")
            )
    named = select(SlaPolicy.id).where(SlaPolicy.name == data.name)
    default = select(SlaPolicy.id).where(SlaPolicy.is_default)
    if but is not None:
        named, default = named.where(SlaPolicy.id != but), default.where(SlaPolicy.id != but)
    if await session.scalar(named) is not None:
        raise Conflict(f"An SLA policy named {data.name!r} exists already.")
    if data.is_default and (other := await session.scalar(default)) is not None:
        raise Conflict(
            f"SLA policy {other} is the default; replace it rather than add a second one."
        )


def _policy_values(data: SlaPolicyIn) -> dict[str, Any]:
    dumped = data.model_dump(mode="json", exclude_none=True)
    return {
        "name": data.name,
        "description": data.description,
        "calendar_id": data.calendar_id,
        "position": data.position,
        "is_default": data.is_default,
        "conditions": dumped["conditions"],
        "targets": dumped["targets"],
        "on_breach": dumped["on_breach"],
    }


async def create_policy(session: AsyncSession, data: SlaPolicyIn) -> SlaPolicy:
    await _check_policy(session, data, None)
    row = SlaPolicy(**_policy_values(data), version=1)
    session.add(row)
    await session.flush()
    await session.refresh(row)
    return row


async def get_policy(session: AsyncSession, policy_id: int) -> SlaPolicy:
    row = await session.get(SlaPolicy, policy_id)
    if row is None:
        raise NotFound(f"SLA policy {policy_id} not found.")
    return row


async def list_policies(session: AsyncSession, after_id: int | None, limit: int) -> list[SlaPolicy]:
    query = select(SlaPolicy).order_by(SlaPolicy.id).limit(limit)
    if after_id is not None:
        query = query.where(SlaPolicy.id > after_id)
    return list(await session.scalars(query))


async def replace_policy(
    session: AsyncSession, policy_id: int, data: SlaPolicyIn, if_match: str | None
) -> SlaPolicy:
    row = await get_policy(session, policy_id)
    check_version(if_match, f"SLA policy {policy_id}", row.version)
    if row.is_default and not data.is_default:
        raise Conflict(
            f"SLA policy {policy_id} is the default: some policy must apply when none other "
            "does. Make another policy the default by replacing this one's targets instead."
        )
    await _check_policy(session, data, policy_id)
    for key, value in _policy_values(data).items():
        setattr(row, key, value)
    row.version += 1
    await session.flush()
    await session.refresh(row)
    return row


async def delete_policy(session: AsyncSession, policy_id: int, if_match: str | None) -> None:
    row = await get_policy(session, policy_id)
    check_version(if_match, f"SLA policy {policy_id}", row.version)
    if row.is_default:
        raise Conflict(f"SLA policy {policy_id} is the default and cannot be deleted.")
    # Tickets under it keep their due times (sla_policy_id becomes null by the foreign
    # key); they are retargeted when their priority or team next changes.
    await session.delete(row)
    await session.flush()
