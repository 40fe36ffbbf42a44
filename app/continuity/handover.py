"""Handover and hand-back: nobody's tickets wait for someone who is not there.

Handover: every new, open or pending ticket owned by someone unavailable (away now, or
deactivated: gone for good) moves to the absence's backup if they are available, else
through the team's routing, else to the team queue with an alert to supervisors.

Hand-back: when an absence is over, the tickets it moved that are still open and still
with whoever got them go back to their owner, if the ticket's team hands back after
absences that short.

Both work in small transactions. Each locks its tickets (FOR UPDATE) and looks at who
owns them now: a ticket already moved is not selected again, so running twice moves
nothing twice, and a crash loses at most an uncommitted batch, never half a move.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.continuity.policy import DEFAULT_POLICY, team_policies
from app.continuity.routing import OPEN_WORK, Router
from app.continuity.wording import QUEUE_ALERT_KIND
from app.events.records import person
from app.models import (
    Absence,
    Handover,
    Role,
    Team,
    TeamMember,
    Ticket,
    User,
)
from app.notifications.outbox import enqueue_personal_notice
from app.notifications.rules import NoticeTopic
from app.people.availability import available_ids, current_absence, unavailable_clause
from app.tickets.schemas import AssignReason
from app.tickets.service import OwnerChange, change_owner, change_owners

logger = logging.getLogger(__name__)

DEPARTED = "departed"  # the "absence reason" of someone deactivated
# After each batch, pause this share of the time it took (2,000 tickets: ~7 s of work).
YIELD_SHARE = 1.0


@dataclass(frozen=True, slots=True)
class Outcome:
    moved: int = 0
    queued: int = 0
    handed_back: int = 0

    def __add__(self, other: Outcome) -> Outcome:
        return Outcome(
            self.moved + other.moved,
            self.queued + other.queued,
            self.handed_back + other.handed_back,
        )


def absence_data(user: User, absence: Absence | None) -> dict[str, Any]:
    """What the timeline records about why: the reason (for staff only) and the expected
    return, as an instant and as the day in the absent person's time zone."""
    if absence is None:
        return {"reason": DEPARTED, "until": None, "until_day": None}
    until_day = None
    if absence.ends_at is not None:
        try:
            zone = ZoneInfo(user.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo("UTC")
        try:
            until_day = absence.ends_at.astimezone(zone).date().isoformat()
        except OverflowError:  # "until 31 December 9999" in a zone east of UTC
            until_day = None
    return {
        "id": absence.id,
        "reason": absence.reason.value,
        "until": None if absence.ends_at is None else absence.ends_at.isoformat(),
        "until_day": until_day,
    }


async def owners_to_relieve(session: AsyncSession, now: datetime) -> list[int]:
    """People who cannot hold tickets now and still own open work."""
    has_work = exists().where(Ticket.owner_id == User.id, Ticket.status.in_(OPEN_WORK))
    rows = await session.scalars(
        select(User.id).where(unavailable_clause(now), has_work).order_by(User.id)
    )
    return list(rows)


async def hand_over(
    sessionmaker: async_sessionmaker[AsyncSession],
    user_id: int,
    *,
    batch_size: int,
    workers: int = 1,
) -> Outcome:
    """Move every open ticket of `user_id` while they are unavailable, batch by batch.

    Several workers, each in its own transaction, take disjoint batches (SKIP LOCKED):
    while one waits on the database another works, so 2,000 tickets take seconds.
    """

    async def worker() -> Outcome:
        outcome = Outcome()
        while True:
            started = time.monotonic()
            async with sessionmaker() as session, session.begin():
                batch = await _hand_over_batch(session, user_id, batch_size)
            if batch.moved == 0:
                return outcome
            outcome += batch
            # Leave the CPUs (ours and PostgreSQL's) to ticket traffic for as long as
            # the batch took: a handover may take twice as long, requests stay fast.
            await asyncio.sleep((time.monotonic() - started) * YIELD_SHARE)

    outcomes = await asyncio.gather(*(worker() for _ in range(max(1, workers))))
    return sum(outcomes, Outcome())


async def _hand_over_batch(session: AsyncSession, user_id: int, limit: int) -> Outcome:
    now = datetime.now(UTC)
    user = await session.get(User, user_id)
    if user is None:
        return Outcome()
    absence = await current_absence(session, user_id, now) if user.active else None
    if user.active and absence is None:
        return Outcome()  # back (or the absence was cancelled) before we got here
    # Locked tickets are someone else's change in progress: the next run takes them.
    tickets = list(
        await session.scalars(
            select(Ticket)
            .where(Ticket.owner_id == user_id, Ticket.status.in_(OPEN_WORK))
            .order_by(Ticket.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not tickets:
        return Outcome()

    backup = await _available_backup(session, absence, user_id, now)
    home_team = await session.scalar(
        select(TeamMember.team_id)
        .where(TeamMember.user_id == user_id)
        .order_by(TeamMember.team_id)
        .limit(1)
    )
    router = Router(session, now)
    why = absence_data(user, absence)
    queued: dict[int | None, list[Ticket]] = defaultdict(list)
    changes: list[OwnerChange] = []
    for ticket in tickets:
        extra: dict[str, Any] = {"absence": why}
        if ticket.team_id is None and home_team is not None:
            # A ticket nobody filed to a team waits in its owner's team, not nowhere.
            ticket.team_id = home_team
            extra["team_id"] = home_team
        target = backup
        if target is None and ticket.team_id is not None:
            target = await router.pick(ticket, ticket.team_id, exclude=(user_id,))
        changes.append(OwnerChange(ticket, target, extra))
        if target is None:
            queued[ticket.team_id].append(ticket)
    # The whole batch as one set of writes: events, tickets, briefs, outbox rows, records.
    events = await change_owners(
        session, changes, actor=None, reason=AssignReason.UNAVAILABILITY, now=now
    )
    records = [
        Handover(
            ticket_id=change.ticket.id,
            absence_id=None if absence is None else absence.id,
            from_user_id=user_id,
            to_user_id=None if change.new_owner is None else change.new_owner.id,
            event_id=event.id,
            created_at=now,
        )
        for change, event in zip(changes, events, strict=True)
    ]
    session.add_all(records)  # one multi-row insert for the batch
    for team_id, waiting in queued.items():
        await _alert_supervisors(session, user, team_id, waiting, now)
    await session.flush()
    queued_count = sum(len(t) for t in queued.values())
    return Outcome(moved=len(tickets), queued=queued_count)


async def _available_backup(
    session: AsyncSession, absence: Absence | None, user_id: int, now: datetime
) -> User | None:
    if absence is None or absence.backup_id is None or absence.backup_id == user_id:
        return None
    if not await available_ids(session, [absence.backup_id], now):
        return None
    return await session.get(User, absence.backup_id)


async def _alert_supervisors(
    session: AsyncSession, user: User, team_id: int | None, tickets: list[Ticket], now: datetime
) -> None:
    """Tickets nobody could take: the team's available supervisors hear of it (or, with
    none, every available supervisor; or, with none at all, the admins)."""
    recipients: list[int] = []
    if team_id is not None:
        members = await session.scalars(
            select(TeamMember.user_id)
            .join(User, User.id == TeamMember.user_id)
            .where(TeamMember.team_id == team_id, User.role == Role.SUPERVISOR)
        )
        recipients = sorted(await available_ids(session, list(members), now))
    if not recipients:
        everyone = await session.scalars(select(User.id).where(User.role == Role.SUPERVISOR))
        recipients = sorted(await available_ids(session, list(everyone), now))
    if not recipients:
        recipients = list(
            await session.scalars(
                select(User.id).where(User.role == Role.ADMIN, User.active.is_(True))
            )
        )
    team = None if team_id is None else await session.get(Team, team_id)
    data = {
        "person": person(user),
        "team": None if team is None else {"id": team.id, "name": team.name},
        "tickets": [{"id": t.id, "subject": t.subject} for t in tickets],
    }
    for recipient in recipients:
        await enqueue_personal_notice(
            session,
            recipient,
            NoticeTopic.ASSIGNMENT,
            kind=QUEUE_ALERT_KIND,
            data=data,
            ticket=tickets[0],
        )


# -- hand-back -------------------------------------------------------------------


async def hand_back_all(
    sessionmaker: async_sessionmaker[AsyncSession], *, batch_size: int
) -> Outcome:
    """Settle every absence that is over: hand its tickets back where due."""
    async with sessionmaker() as session:
        ended = list(
            await session.scalars(
                select(Absence.id)
                .where(Absence.returned_at.is_(None), Absence.ends_at <= datetime.now(UTC))
                .order_by(Absence.ends_at, Absence.id)
            )
        )
    outcome = Outcome()
    for absence_id in ended:
        outcome += await hand_back(sessionmaker, absence_id, batch_size=batch_size)
    return outcome


async def hand_back(
    sessionmaker: async_sessionmaker[AsyncSession], absence_id: int, *, batch_size: int
) -> Outcome:
    outcome = Outcome()
    after_id = 0
    while True:
        async with sessionmaker() as session, session.begin():
            step, after_id, finished = await _hand_back_batch(
                session, absence_id, after_id, batch_size
            )
        outcome += step
        if finished:
            return outcome


async def _hand_back_batch(
    session: AsyncSession, absence_id: int, after_id: int, limit: int
) -> tuple[Outcome, int, bool]:
    now = datetime.now(UTC)
    absence = await session.get(Absence, absence_id, with_for_update=True)
    if absence is None or absence.returned_at is not None:
        return Outcome(), after_id, True
    if absence.ends_at is None or absence.ends_at > now:
        return Outcome(), after_id, True  # extended meanwhile
    owner = await session.get(User, absence.user_id)
    if owner is None or not owner.active:
        absence.returned_at = now  # gone for good: nothing goes back
        return Outcome(), after_id, True
    if not await available_ids(session, [owner.id], now):
        return Outcome(), after_id, True  # away again: hand back once they are here
    records = list(
        await session.scalars(
            select(Handover)
            .where(
                Handover.absence_id == absence_id,
                Handover.handed_back_at.is_(None),
                Handover.id > after_id,
            )
            .order_by(Handover.id)
            .limit(limit)
        )
    )
    if not records:
        absence.returned_at = now
        return Outcome(), after_id, True
    tickets = {
        t.id: t
        for t in await session.scalars(
            select(Ticket)
            .where(Ticket.id.in_([r.ticket_id for r in records]))
            .order_by(Ticket.id)
            .with_for_update()
        )
    }
    policies = await team_policies(session, [t.team_id for t in tickets.values() if t.team_id])
    away_for = absence.ends_at - absence.starts_at
    returned = 0
    for record in records:
        ticket = tickets.get(record.ticket_id)
        if ticket is None or ticket.status not in OPEN_WORK:
            continue  # resolved by whoever had it: it stays resolved
        if ticket.owner_id != record.to_user_id:
            continue  # moved on since (escalated, reassigned): not ours to pull back
        policy = policies.get(ticket.team_id or 0, DEFAULT_POLICY)
        if not policy.hand_back or away_for >= timedelta(days=policy.hand_back_max_days):
            continue
        await change_owner(
            session,
            ticket,
            owner,
            actor=None,
            reason="hand_back",
            extra={"absence": absence_data(owner, absence)},
            now=now,
        )
        record.handed_back_at = now
        returned += 1
    return Outcome(handed_back=returned), records[-1].id, False
