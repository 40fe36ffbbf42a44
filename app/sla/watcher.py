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
from datetime import UTC, datetime

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.events.kinds import EventKind
from app.events.recorder import record_event
from app.models import (
    Priority,
    SlaAlert,
    SlaLevel,
    SlaTarget,
    Ticket,
    TicketStatus,
    Visibility,
)
from app.models.sla import FIRST_RESPONSE_WATCHED, RESOLUTION_WATCHED
from app.sla.policy import targets

# Any fixed number, the same in every process: the key of a pass's lock.
WATCHER_LOCK = 7_215_334_918_003
WAITING = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING)
# Alerts per transaction: short transactions keep edits of those tickets waiting only
# briefly.
BATCH_SIZE = 100

# Per priority, the targets within their warning window or past due and not yet flagged
# as missed, from the two partial indexes of app/models/sla.py (the WHERE clauses repeat
# their predicates so the planner can use them). Warnings already raised are skipped.
_ALERTS_DUE = text(
    f"""
    WITH window_by_priority AS (
        SELECT * FROM unnest(CAST(:priorities AS text[]), CAST(:first_windows AS float8[]),
                             CAST(:resolution_windows AS float8[]))
            AS w(priority, first_window, resolution_window)
    ), candidate AS (
        SELECT t.id AS ticket_id, 'first_response' AS target, t.first_response_due_at AS due_at
        FROM window_by_priority AS w CROSS JOIN LATERAL (
            SELECT id, first_response_due_at FROM tickets
            WHERE priority = w.priority
              AND {FIRST_RESPONSE_WATCHED}
              AND first_response_due_at
                  <= CAST(:now AS timestamptz) + make_interval(secs => w.first_window)
        ) AS t
        UNION ALL
        SELECT t.id, 'resolution', t.resolution_due_at
        FROM window_by_priority AS w CROSS JOIN LATERAL (
            SELECT id, resolution_due_at FROM tickets
            WHERE priority = w.priority
              AND {RESOLUTION_WATCHED}
              AND resolution_due_at
                  <= CAST(:now AS timestamptz) + make_interval(secs => w.resolution_window)
        ) AS t
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


async def alerts_due(
    session: AsyncSession, now: datetime, warning_ratio: float, limit: int
) -> list[Due]:
    """Alerts that should exist and do not yet, soonest target first. A warning comes
    when the last (1 - warning_ratio) of the priority's time to a target begins."""
    priorities = list(Priority)
    remaining = 1 - warning_ratio
    rows = await session.execute(
        _ALERTS_DUE,
        {
            "now": now,
            "priorities": [p.value for p in priorities],
            "first_windows": [targets(p)[0].total_seconds() * remaining for p in priorities],
            "resolution_windows": [targets(p)[1].total_seconds() * remaining for p in priorities],
            "limit": limit,
        },
    )
    return [
        Due(row.ticket_id, SlaTarget(row.target), SlaLevel(row.level), row.due_at) for row in rows
    ]


def _still_due(ticket: Ticket, due: Due, now: datetime) -> bool:
    """The ticket, now locked, still misses that target (an agent may just have answered)."""
    if ticket.status not in WAITING:
        return False
    if due.target is SlaTarget.FIRST_RESPONSE:
        current = ticket.first_response_due_at if ticket.first_response_at is None else None
        flagged = ticket.first_response_breached_for
    else:
        current, flagged = ticket.resolution_due_at, ticket.resolution_breached_for
    if current != due.due_at or flagged == due.due_at:
        return False  # answered, the priority changed and moved the target, or done
    return due.level is SlaLevel.WARNING or due.due_at <= now


def _mark_breached(ticket: Ticket, due: Due) -> None:
    if due.target is SlaTarget.FIRST_RESPONSE:
        ticket.first_response_breached_for = due.due_at
    else:
        ticket.resolution_breached_for = due.due_at


@dataclass(frozen=True, slots=True)
class Batch:
    raised: int
    more: bool  # a full batch: more may be due


async def raise_alerts(session: AsyncSession, now: datetime, warning_ratio: float) -> Batch:
    """One batch: record the alerts due, in the caller's transaction."""
    if not await session.scalar(select(func.pg_try_advisory_xact_lock(WATCHER_LOCK))):
        return Batch(0, more=False)  # another process is on it
    dues = await alerts_due(session, now, warning_ratio, BATCH_SIZE)
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
        kind = EventKind.SLA_BREACHED if due.level is SlaLevel.BREACHED else EventKind.SLA_WARNING
        await record_event(
            session,
            ticket,
            kind,
            actor=None,
            visibility=Visibility.INTERNAL,
            data={
                "target": due.target.value,
                "due_at": due.due_at.isoformat(),
                "priority": ticket.priority.value,
            },
        )
        raised += 1
    return Batch(raised, more=len(dues) == BATCH_SIZE)


async def raise_all(sessionmaker: async_sessionmaker[AsyncSession], warning_ratio: float) -> int:
    """Batches until nothing more is due; each batch is its own transaction. A batch
    that raised nothing (its tickets all busy) ends the pass: the next one retries."""
    total = 0
    while True:
        async with sessionmaker() as session, session.begin():
            batch = await raise_alerts(session, datetime.now(UTC), warning_ratio)
        total += batch.raised
        if not batch.more or batch.raised == 0:
            return total
