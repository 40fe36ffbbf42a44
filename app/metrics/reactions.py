"""Keeping the figures current: a reaction to the timeline, in the write transaction.

Per batch: one SELECT of the tickets' facts (none for tickets filed in the batch), one
of the policies' calendars when an event may end a duration (app/metrics/
business_time.py), the events folded in order (app/metrics/facts.py), then one upsert
of the facts (rows of tickets the change holds anyway) and one INSERT of the rollup
deltas, summed per row first. Deltas are appended, never upserted: an upsert of the
hour's rollup row would make every change of the hour wait for the previous one to
commit. A ticket with no facts row yet (filed before the metrics existed) has its
whole timeline folded first (app/metrics/backfill.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.events.kinds import EventKind
from app.events.reactions import Batch
from app.events.records import Recorded
from app.metrics import facts as folding
from app.metrics.backfill import adopt
from app.metrics.business_time import WALL_CLOCK, BusinessTime
from app.metrics.facts import Delta, Facts
from app.metrics.store import (
    DELTAS,
    FACTS,
    ROLLUPS,
    add_to_rollups,
    dim_values,
    load_facts,
    rollup_rows,
    save_facts,
)

KINDS = frozenset(
    {
        EventKind.TICKET_CREATED,
        EventKind.OWNER_CHANGED,
        EventKind.TICKET_UPDATED,
        EventKind.PRIORITY_CHANGED,
        EventKind.STATUS_CHANGED,
        EventKind.MESSAGE_CREATED,
        EventKind.SLA_BREACHED,
        EventKind.FEEDBACK_RECEIVED,
    }
)
# The kinds that may end a duration: only a batch with one of them reads the calendars.
_TIMED = frozenset({EventKind.MESSAGE_CREATED.value, EventKind.STATUS_CHANGED.value})

Event = tuple[int, str, datetime, dict[str, Any], int | None, tuple[str, ...]]


async def keep_figures(batch: Batch, recorded: Sequence[Recorded]) -> None:
    """Fold the batch's events into the facts and rollups."""
    through: dict[int, int] = {}
    for item in recorded:
        event = item.event
        through[event.ticket_id] = max(event.id, through.get(event.ticket_id, 0))
    await fold(batch.session, [_plain(r) for r in recorded], through=through)


def _plain(item: Recorded) -> Event:
    event = item.event
    tags = tuple(item.ticket.tags or ()) if event.kind == EventKind.TICKET_CREATED else ()
    return (event.ticket_id, event.kind, event.created_at, event.data, event.actor_id, tags)


async def fold(
    session: AsyncSession,
    events: Sequence[Event],
    *,
    through: Mapping[int, int] | None = None,
) -> None:
    """Fold events (ticket, kind, at, data, actor, tags at filing), in timeline order.

    `through`: per ticket, the id of the batch's last event. A ticket without a facts
    row has its timeline folded up to it (events its change records later reach this
    fold in the next round)."""
    created = EventKind.TICKET_CREATED.value
    filed = {e[0] for e in events if e[1] == created}
    known = await load_facts(session, {e[0] for e in events} - filed)
    missing = {e[0] for e in events} - filed - known.keys()
    timed = missing or any(e[1] in _TIMED for e in events)
    elapsed = await BusinessTime.load(session) if timed else WALL_CLOCK
    deltas: list[Delta] = []
    adopted: set[int] = set()
    if missing:
        adopted, history = await adopt(session, missing, elapsed, through)
        deltas.extend(history)
        # Someone else folded these first, without this change's (uncommitted) events.
        known.update(await load_facts(session, missing - adopted))
    touched: dict[int, Facts] = {}
    for ticket_id, kind, at, data, actor_id, tags in events:
        if kind == created:
            status = str(data.get("status") or "new")
            facts, filing = folding.file(ticket_id, at, data, status, tags)
            known[ticket_id] = facts
            deltas.extend(filing)
        elif ticket_id in adopted:
            continue  # its whole timeline, this event included, is folded already
        else:
            found = known.get(ticket_id)
            if found is None:
                continue  # no `ticket.created` on its timeline: nothing to count it from
            facts = found
            deltas.extend(folding.apply(facts, kind, at, data, actor_id, elapsed))
        touched[ticket_id] = facts
    if touched:
        await save_facts(session, touched.values())
    rows = rollup_rows(deltas)
    if rows:
        await add_to_rollups(session, rows)


__all__ = ["DELTAS", "FACTS", "KINDS", "ROLLUPS", "dim_values", "fold", "keep_figures"]
__all__ += ["rollup_rows"]
