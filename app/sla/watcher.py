"""The SLA watcher: puts `sla.warning` and `sla.breached` on the timeline.

A warning when most of the time a ticket's priority allows for a target has gone
(`sla_warning_ratio` of it), a breach when the target passes with the ticket still
unanswered or unresolved. Each is an internal event, so it reaches the owner (or,
unowned, the team) and the agent consoles like any other change, and customers never
see it.

Any number of processes may run the watcher (`serve` runs it in its background child).
A pass holds a transaction-level advisory lock, so passes never overlap; each alert is
a row in `sla_alerts` written in the same transaction as its event, so an alert is
raised once whatever crashes or retries happen; tickets someone is editing right now
are skipped (SKIP LOCKED) and looked at again on the next pass. A breach also marks
the ticket (`*_breached_for`), which takes it out of the watcher's indexes: old
breaches cost nothing however many pile up. Raising an alert changes no field the API
shows, so the ticket's version (the ETag agents send with If-Match) stays as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.events.kinds import EventKind
from app.events.recorder import record_event
from app.models import (
    SlaAlert,
    SlaLevel,
    SlaTarget,
    Ticket,
    TicketStatus,
    User,
    Visibility,
)
from app.models.sla import FIRST_RESPONSE_WATCHED, NEXT_RESPONSE_WATCHED, RESOLUTION_WATCHED
from app.sla.book import Applied, PolicyBook
from app.sla.unowned import alert_all

# Any fixed number, the same in every process: the key of a pass's lock.
WATCHER_LOCK = 7_215_334_918_003
WAITING = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING)
# Alerts per transaction: short transactions keep edits of those tickets waiting only
# briefly.
BATCH_SIZE = 100

# The targets whose warning time has come and that are not yet flagged as missed, from
# the three partial indexes of app/models/sla.py (the WHERE clauses repeat their
# predicates so the planner can use them). The warning time was computed in business
# time on the ticket's calendar when its due times were stored, so a pass only compares
# instants; a breached target is past its warning time too. Warnings already raised
# are skipped.
_ALERTS_DUE = text(
    f"""
    WITH candidate AS (
        SELECT id AS ticket_id, 'first_response' AS target, first_response_due_at AS due_at
        FROM tickets
        WHERE {FIRST_RESPONSE_WATCHED} AND first_response_warn_at <= CAST(:now AS timestamptz)
        UNION ALL
        SELECT id, 'next_response', next_response_due_at
        FROM tickets
        WHERE {NEXT_RESPONSE_WATCHED} AND next_response_warn_at <= CAST(:now AS timestamptz)
        UNION ALL
        SELECT id, 'resolution', resolution_due_at
        FROM tickets
        WHERE {RESOLUTION_WATCHED} AND resolution_warn_at <= CAST(:now AS timestamptz)
    )
    SELECT ticket_id, target, due_at,
           CASE WHEN due_at <= CAST(:now AS timestamptz) THEN 'breached' ELSE 'warning' END
               AS level
    FROM candidate
    WHERE due_at <= CAST(:now AS timestamptz) OR NOT EXISTS (
        SELECT 1 FROM sla_alerts AS alert
        WHERE alert.ticket_id = candidate.ticket_id AND alert.target = candidate.target
          AND alert.level = 'warning' AND alert.due_at = candidate.due_at)
    ORDER BY due_at, ticket_id
    LIMIT :limit
    """  # noqa: S608 - the predicates are constants of app/models/sla.py, not input
)


@dataclass(frozen=True, slots=True)
class Due:
    ticket_id: int
    target: SlaTarget
    level: SlaLevel
    due_at: datetime


async def alerts_due(session: AsyncSession, now: datetime, limit: int) -> list[Due]:
    """Alerts that should exist and do not yet, soonest target first."""
    rows = await session.execute(_ALERTS_DUE, {"now": now, "limit": limit})
    return [
        Due(row.ticket_id, SlaTarget(row.target), SlaLevel(row.level), row.due_at) for row in rows
    ]


def _still_due(ticket: Ticket, due: Due, now: datetime) -> bool:
    """The ticket, now locked, still misses that target (an agent may just have answered)."""
    if ticket.status not in WAITING:
        return False
    if ticket.sla_paused_since is not None:
        return False  # pending since: the due time moves when the clock resumes
    if due.target is SlaTarget.FIRST_RESPONSE:
        current = ticket.first_response_due_at if ticket.first_response_at is None else None
        flagged = ticket.first_response_breached_for
    elif due.target is SlaTarget.NEXT_RESPONSE:
        current, flagged = ticket.next_response_due_at, ticket.next_response_breached_for
    else:
        current, flagged = ticket.resolution_due_at, ticket.resolution_breached_for
    if current != due.due_at or flagged == due.due_at:
        return False  # answered, the priority changed and moved the target, or done
    return due.level is SlaLevel.WARNING or due.due_at <= now


def _mark_breached(ticket: Ticket, due: Due) -> None:
    if due.target is SlaTarget.FIRST_RESPONSE:
        ticket.first_response_breached_for = due.due_at
    elif due.target is SlaTarget.NEXT_RESPONSE:
        ticket.next_response_breached_for = due.due_at
    else:
        ticket.resolution_breached_for = due.due_at


@dataclass(frozen=True, slots=True)
class Batch:
    raised: int
    more: bool  # a full batch: more may be due


async def raise_alerts(session: AsyncSession, now: datetime, warning_ratio: float) -> Batch:
    """One batch: record the alerts due, in the caller's transaction. (When each warning
    is due was stored with the due times; `warning_ratio` words the customer's new
    expectation when a stated answer time is about to pass.)"""
    if not await session.scalar(select(func.pg_try_advisory_xact_lock(WATCHER_LOCK))):
        return Batch(0, more=False)  # another process is on it
    dues = await alerts_due(session, now, BATCH_SIZE)
    if not dues:
        return Batch(0, more=False)
    tickets = {
        ticket.id: ticket
        for ticket in await session.scalars(
            select(Ticket)
            .where(Ticket.id.in_({due.ticket_id for due in dues}))
            .with_for_update(skip_locked=True)
        )
    }
    raised = 0
    book: PolicyBook | None = None
    for due in dues:
        ticket = tickets.get(due.ticket_id)
        if ticket is None or not _still_due(ticket, due, now):
            continue
        inserted = await session.scalar(
            insert(SlaAlert)
            .values(ticket_id=ticket.id, target=due.target, level=due.level, due_at=due.due_at)
            .on_conflict_do_nothing()
            .returning(SlaAlert.ticket_id)
        )
        if inserted is None:
            continue
        ticket.updated_at = now  # the newest activity, so lists show it on top
        if due.level is SlaLevel.BREACHED:
            _mark_breached(ticket, due)
        book = book or await PolicyBook.load(session)
        applied = book.applied(ticket.sla_policy_id, ticket.priority)
        data: dict[str, Any] = {
            "target": due.target.value,
            "due_at": due.due_at.isoformat(),
            "priority": ticket.priority.value,
        }
        if due.level is SlaLevel.BREACHED:
            # What the policy wants done about it: reactions act on these.
            data["on_breach"] = [action.value for action in applied.on_breach]
            await record_event(
                session,
                ticket,
                EventKind.SLA_BREACHED,
                actor=None,
                visibility=Visibility.INTERNAL,
                data=data,
            )
        else:
            await record_event(
                session,
                ticket,
                EventKind.SLA_WARNING,
                actor=None,
                visibility=Visibility.INTERNAL,
                data=data,
            )
            await announce_delay(session, ticket, due, applied, warning_ratio)
        raised += 1
    return Batch(raised, more=len(dues) == BATCH_SIZE)


async def announce_delay(
    session: AsyncSession, ticket: Ticket, due: Due, applied: Applied, warning_ratio: float
) -> None:
    """The time stated to the customer (a response's due time) is about to pass with
    nobody having answered: tell them now, before it passes, with a new expectation:
    the due time plus the same stretch of business time again. Once per due time, as
    the warning it rides with (sla_alerts); nothing internal in it."""
    target = {
        SlaTarget.FIRST_RESPONSE: applied.targets.first_response,
        SlaTarget.NEXT_RESPONSE: applied.targets.next_response,
    }.get(due.target)
    if target is None:
        return
    answer_by = applied.calendar.add_business_time(due.due_at, target * (1 - warning_ratio))
    requester = await session.get(User, ticket.requester_id)
    await record_event(
        session,
        ticket,
        EventKind.SLA_DELAY_ANNOUNCED,
        actor=None,
        visibility=Visibility.PUBLIC,
        data={
            "stated_answer_by": due.due_at.isoformat(),
            "answer_by": answer_by.isoformat(),
            "time_zone": "UTC" if requester is None else requester.timezone,
        },
    )


async def raise_all(
    sessionmaker: async_sessionmaker[AsyncSession],
    warning_ratio: float,
    unowned_after: timedelta | None = None,
) -> int:
    """Batches until nothing more is due; each batch is its own transaction. A batch
    that raised nothing (its tickets all busy) ends the pass: the next one retries.
    With `unowned_after`, tickets nobody has taken by then alert their supervisors."""
    if unowned_after is not None:
        await alert_all(sessionmaker, unowned_after)
    total = 0
    while True:
        async with sessionmaker() as session, session.begin():
            batch = await raise_alerts(session, datetime.now(UTC), warning_ratio)
        total += batch.raised
        if not batch.more or batch.raised == 0:
            return total
