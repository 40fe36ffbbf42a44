"""Folding whole timelines: tickets filed before the metrics existed, counted from their
history.

A ticket has no facts row when it was filed before the metrics were installed. Its
whole timeline (`ticket_events` in id order, the kinds the fold reads) is folded here,
exactly as the reaction would have folded it event by event, and its facts row is
inserted `ON CONFLICT DO NOTHING`: the first to insert a ticket's row counts its
history, anyone else leaves it. Two paths do it:

- the rebuild (`rebuild_all`: `helpdesk metrics rebuild`, and once in the background
  process), 500 tickets a transaction, under an advisory lock so one process does it;
- the reaction (app/metrics/reactions.py), when a change arrives for a ticket that
  has no row yet, folds that ticket's timeline up to the change's events.

Why nothing is counted twice or lost while the desk is live: a change that commits an
event the metrics read also commits the ticket's facts row (its reaction inserts it if
the rebuild has not). So a timeline read without a facts row in sight is complete
except for events of changes still in flight; an insert that then finds a row (waiting
for its writer's commit) knows that row was folded without its own uncommitted events,
which the reaction folds onto it; the rebuild simply leaves it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.db import create_engine, create_sessionmaker
from app.metrics import facts as folding
from app.metrics.business_time import BusinessTime
from app.metrics.compaction import compact_all
from app.metrics.facts import Delta, Elapsed, Facts
from app.metrics.store import FACTS, add_to_rollups, insert_new_facts, rollup_rows
from app.models import Ticket, TicketEvent

logger = logging.getLogger(__name__)

# pg_try_advisory_xact_lock key: "mtrb".
REBUILD_LOCK = 0x6D747262
BATCH_TICKETS = 500
COMPACT_EVERY = 10  # batches
_CREATED = "ticket.created"
_KINDS = sorted(folding.FOLDED_KINDS)


def fold_timeline(
    timeline: list[tuple[str, datetime, dict[str, Any], int | None]],
    ticket_id: int,
    tags_now: tuple[str, ...],
    policy_now: int | None,
    elapsed: Elapsed,
) -> tuple[Facts, list[Delta]] | None:
    """One ticket's facts and deltas from its events (kind, at, data, actor) in order;
    None without a `ticket.created`. The filing's tags are those before the first tags
    change, else today's; its policy is the one `ticket.created` names, or, filed
    before the timeline named it, the ticket's policy now."""
    start = next((i for i, event in enumerate(timeline) if event[0] == _CREATED), None)
    if start is None:
        return None
    _, at, data, _actor = timeline[start]
    tags = tags_now
    for kind, _at, later, _who in timeline[start + 1 :]:
        changes = later.get("changes") if kind == "ticket.updated" else None
        if isinstance(changes, dict) and isinstance(changes.get("tags"), dict):
            before = changes["tags"].get("from")
            tags = tuple(str(t) for t in before) if isinstance(before, list) else ()
            break
    if "sla_policy_id" not in data:
        data = {**data, "sla_policy_id": policy_now}
    status = str(data.get("status") or "new")
    facts, deltas = folding.file(ticket_id, at, data, status, tags)
    for kind, at, data, actor_id in timeline[start + 1 :]:
        deltas.extend(folding.apply(facts, kind, at, data, actor_id, elapsed))
    return facts, deltas


async def adopt(
    session: AsyncSession,
    ticket_ids: Collection[int],
    elapsed: Elapsed,
    through: Mapping[int, int] | None = None,
) -> tuple[set[int], list[Delta]]:
    """Fold the timelines of tickets that have no facts row (up to event id
    `through[ticket]` when given) and insert their rows: the tickets whose row this
    inserted, and the deltas of their histories (to be added to the rollups)."""
    ids = sorted(ticket_ids)
    if not ids:
        return set(), []
    now = {
        row.id: (tuple(row.tags or ()), row.sla_policy_id)
        for row in await session.execute(
            select(Ticket.id, Ticket.tags, Ticket.sla_policy_id).where(Ticket.id.in_(ids))
        )
    }
    timelines: dict[int, list[tuple[str, datetime, dict[str, Any], int | None]]]
    timelines = defaultdict(list)
    events = await session.execute(
        select(
            TicketEvent.id,
            TicketEvent.ticket_id,
            TicketEvent.kind,
            TicketEvent.created_at,
            TicketEvent.data,
            TicketEvent.actor_id,
        )
        .where(TicketEvent.ticket_id.in_(ids), TicketEvent.kind.in_(_KINDS))
        .order_by(TicketEvent.ticket_id, TicketEvent.id)
    )
    for event_id, ticket_id, kind, at, data, actor_id in events:
        if through is None or event_id <= through.get(ticket_id, event_id):
            timelines[ticket_id].append((kind, at, data, actor_id))
    folded: dict[int, tuple[Facts, list[Delta]]] = {}
    for ticket_id, timeline in timelines.items():
        tags, policy = now.get(ticket_id, ((), None))
        result = fold_timeline(timeline, ticket_id, tags, policy, elapsed)
        if result is not None:
            folded[ticket_id] = result
    inserted = await insert_new_facts(session, (facts for facts, _ in folded.values()))
    deltas = [delta for ticket_id in sorted(inserted) for delta in folded[ticket_id][1]]
    return inserted, deltas


async def rebuild_batch(
    session: AsyncSession, size: int = BATCH_TICKETS, *, after: int = 0, wait: bool = False
) -> tuple[int, int, int] | None:
    """Fold up to `size` tickets without a facts row and with an id above `after`, in
    this transaction: (tickets looked at, tickets folded, the last id looked at), none
    looked at when none is left; None when another process holds the rebuild's lock and
    `wait` is false. The caller passes the last id on, so each batch reads only tickets
    it has not seen (not the whole table again, a million tickets after)."""
    if wait:
        await session.execute(select(func.pg_advisory_xact_lock(REBUILD_LOCK)))
    elif not await session.scalar(select(func.pg_try_advisory_xact_lock(REBUILD_LOCK))):
        return None
    has_facts = exists().where(FACTS.c.ticket_id == Ticket.id)
    filed = exists().where(TicketEvent.ticket_id == Ticket.id, TicketEvent.kind == _CREATED)
    candidates = list(
        await session.scalars(
            select(Ticket.id)
            .where(Ticket.id > after, ~has_facts, filed)
            .order_by(Ticket.id)
            .limit(size)
        )
    )
    if not candidates:
        return 0, 0, after
    adopted, deltas = await adopt(session, candidates, await BusinessTime.load(session))
    rows = rollup_rows(deltas)
    if rows:
        await add_to_rollups(session, rows)
    return len(candidates), len(adopted), candidates[-1]


async def rebuild_all(
    sessionmaker: async_sessionmaker[AsyncSession],
    size: int = BATCH_TICKETS,
    *,
    wait: bool = True,
) -> int | None:
    """Batches, each its own transaction, in ticket order until no ticket is left
    without a facts row: how many tickets this folded. Without `wait`, None as soon as
    another process holds the lock (it is doing the work). A ticket filed meanwhile
    needs none of it: its reaction folds it."""
    folded, after, batches = 0, 0, 0
    while True:
        async with sessionmaker() as session, session.begin():
            done = await rebuild_batch(session, size, after=after, wait=wait)
        if done is None:
            return None
        looked_at, adopted, after = done
        folded += adopted
        if looked_at == 0:
            return folded
        batches += 1
        if batches % COMPACT_EVERY == 0:
            # A year of history spreads each batch's counts over thousands of hours:
            # about twenty delta rows a ticket. Moved into the rollups as the rebuild
            # goes, they never pile up into one huge compaction (nor slow the readers,
            # who add them up); every few batches, so that rows of one hour fold first.
            await compact_all(sessionmaker)
            logger.info("metrics rebuild: %d tickets folded so far (up to id %d)", folded, after)


async def rebuild_in_background(
    sessionmaker: async_sessionmaker[AsyncSession], retry_seconds: float = 60.0
) -> None:
    """Once per process start: the rebuild until nothing is left (retried after a
    failure), then idle until cancelled. New tickets never need it, and a ticket it has
    not reached yet is folded by its next change."""
    while True:
        try:
            folded = await rebuild_all(sessionmaker, wait=False)
        except Exception:
            logger.exception("folding older tickets into the metrics failed; retrying")
            await asyncio.sleep(retry_seconds)
            continue
        if folded:
            logger.info("folded %d tickets filed before the metrics existed", folded)
        break
    await asyncio.Event().wait()  # the process's tasks end together, by cancellation


async def rebuild_database(settings: Settings, database_url: str) -> int:
    """`helpdesk metrics rebuild`: the rebuild to completion, waiting its turn when the
    background process is at it; how many tickets it folded."""
    engine = create_engine(settings, database_url)
    try:
        folded = await rebuild_all(create_sessionmaker(engine), wait=True)
    finally:
        await engine.dispose()
    assert folded is not None  # waiting for the lock never gives up
    return folded
