"""Keeping the figures current: a reaction to the timeline, in the write transaction.

Per batch: one SELECT of the tickets' facts (none for tickets filed in the batch), the
events folded in order (app/metrics/facts.py), then one upsert of the facts (rows of
tickets the change holds anyway) and one INSERT of the rollup deltas, summed per row
first. Deltas are appended, never upserted: an upsert of the hour's rollup row would
make every change of the hour wait for the previous one to commit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.events.kinds import EventKind
from app.events.reactions import Batch
from app.events.records import Recorded
from app.metrics import facts as folding
from app.metrics.definitions import ALL, COUNTERS, TIMES, bin_of
from app.metrics.facts import Delta, Dims, Facts
from app.models import MetricRollup, MetricRollupDelta, MetricTicketFacts

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

FACTS: Table = MetricTicketFacts.__table__  # type: ignore[assignment]
ROLLUPS: Table = MetricRollup.__table__  # type: ignore[assignment]
DELTAS: Table = MetricRollupDelta.__table__  # type: ignore[assignment]

RowKey = tuple[str, str, str, str, datetime]  # grain, dim, val, sub, bucket


async def keep_figures(batch: Batch, recorded: Sequence[Recorded]) -> None:
    """Fold the batch's events into the facts and rollups."""
    await fold(batch.session, [_plain(r) for r in recorded])


def _plain(
    item: Recorded,
) -> tuple[int, str, datetime, dict[str, Any], int | None, tuple[str, ...]]:
    event = item.event
    tags = tuple(item.ticket.tags or ()) if event.kind == EventKind.TICKET_CREATED else ()
    return (event.ticket_id, event.kind, event.created_at, event.data, event.actor_id, tags)


async def fold(
    session: AsyncSession,
    events: Sequence[tuple[int, str, datetime, dict[str, Any], int | None, tuple[str, ...]]],
) -> None:
    """Fold events (ticket, kind, at, data, actor, tags at filing), in timeline order."""
    known = await _load(session, {e[0] for e in events if e[1] != EventKind.TICKET_CREATED.value})
    deltas: list[Delta] = []
    touched: dict[int, Facts] = {}
    for ticket_id, kind, at, data, actor_id, tags in events:
        if kind == EventKind.TICKET_CREATED.value:
            status = str(data.get("status") or "new")
            facts, created = folding.file(ticket_id, at, data, status, tags)
            known[ticket_id] = facts
            deltas.extend(created)
        else:
            found = known.get(ticket_id)
            if found is None:
                continue  # filed before the metrics existed: not counted (docs/metrics.md)
            facts = found
            deltas.extend(folding.apply(facts, kind, at, data, actor_id))
        touched[ticket_id] = facts
    if touched:
        await _save_facts(session, touched.values())
    rows = rollup_rows(deltas)
    if rows:
        await _add_to_rollups(session, rows)


async def _load(session: AsyncSession, ticket_ids: set[int]) -> dict[int, Facts]:
    if not ticket_ids:
        return {}
    table = FACTS
    rows = await session.execute(
        select(table)
        .where(table.c.ticket_id.in_(sorted(ticket_ids)))
        .order_by(table.c.ticket_id)
        .with_for_update()
    )
    return {row.ticket_id: _facts_of(row) for row in rows}


def _facts_of(row: Any) -> Facts:
    resolution = None
    if row.res_channel is not None:
        resolution = Dims(
            row.res_team_id,
            row.res_agent_id,
            row.res_channel,
            row.res_category,
            row.res_priority or "",
            tuple(row.res_tags or ()),
        )
    return Facts(
        ticket_id=row.ticket_id,
        created_at=row.created_at,
        dims=Dims(
            row.team_id, row.agent_id, row.channel, row.category, row.priority, tuple(row.tags)
        ),
        status=row.status,
        first_response_at=row.first_response_at,
        first_resolved_at=row.first_resolved_at,
        reopens=row.reopens,
        agent_replies=row.agent_replies,
        awaiting_since=row.awaiting_since,
        breached=row.breached,
        fcr_counted=row.fcr_counted,
        resolution_dims=resolution,
        imported=row.imported,
    )


def _facts_row(facts: Facts) -> dict[str, Any]:
    dims, res = facts.dims, facts.resolution_dims
    return {
        "ticket_id": facts.ticket_id,
        "created_at": facts.created_at,
        "team_id": dims.team,
        "agent_id": dims.agent,
        "channel": dims.channel,
        "category": dims.category,
        "priority": dims.priority,
        "tags": list(dims.tags),
        "status": facts.status,
        "first_response_at": facts.first_response_at,
        "first_resolved_at": facts.first_resolved_at,
        "reopens": facts.reopens,
        "agent_replies": facts.agent_replies,
        "awaiting_since": facts.awaiting_since,
        "breached": facts.breached,
        "fcr_counted": facts.fcr_counted,
        "res_team_id": res.team if res else None,
        "res_agent_id": res.agent if res else None,
        "res_channel": res.channel if res else None,
        "res_category": res.category if res else None,
        "res_priority": res.priority if res else None,
        "res_tags": list(res.tags) if res else None,
        "imported": facts.imported,
    }


async def _save_facts(session: AsyncSession, all_facts: Iterable[Facts]) -> None:
    rows = sorted((_facts_row(f) for f in all_facts), key=lambda r: int(r["ticket_id"]))
    statement = insert(FACTS)
    columns = [c for c in rows[0] if c != "ticket_id"]
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["ticket_id"],
            set_={c: statement.excluded[c] for c in columns},
        ),
        rows,
    )


def dim_values(dims: Dims) -> list[tuple[str, str]]:
    """The rollup rows one count goes to: everything, and each dimension's value."""
    values = [
        (ALL, ""),
        ("team", "" if dims.team is None else str(dims.team)),
        ("agent", "" if dims.agent is None else str(dims.agent)),
        ("channel", dims.channel),
        ("category", dims.category or ""),
        ("priority", dims.priority),
    ]
    values.extend(("tag", tag) for tag in dict.fromkeys(dims.tags))
    return values


def buckets(at: datetime) -> tuple[tuple[str, datetime], ...]:
    """The hour, the UTC day and the UTC month an instant falls in."""
    hour = at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    day = hour.replace(hour=0)
    return ("h", hour), ("d", day), ("m", day.replace(day=1))


def rollup_rows(deltas: Sequence[Delta]) -> list[dict[str, Any]]:
    """The deltas summed per rollup row, in key order."""
    counts: dict[RowKey, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    hists: dict[RowKey, dict[str, dict[int, int]]] = defaultdict(lambda: defaultdict(dict))
    for delta in deltas:
        values = dim_values(delta.dims)
        for grain, bucket in buckets(delta.at):
            for dim, val in values:
                key = (grain, dim, val, delta.sub, bucket)
                summed = counts[key]
                for name, n in delta.counts.items():
                    summed[name] += n
                for name, seconds in delta.times.items():
                    summed[f"{name}_n"] += 1
                    summed[f"{name}_sum"] += seconds
                    hist = hists[key][name]
                    b = bin_of(seconds)
                    hist[b] = hist.get(b, 0) + 1
    rows = []
    for key in sorted(counts):
        grain, dim, val, sub, bucket = key
        row: dict[str, Any] = {"grain": grain, "dim": dim, "val": val, "sub": sub}
        row["bucket"] = bucket
        for name in COUNTERS:
            row[name] = counts[key].get(name, 0)
        for name in TIMES:
            row[f"{name}_n"] = counts[key].get(f"{name}_n", 0)
            row[f"{name}_sum"] = counts[key].get(f"{name}_sum", 0)
            found = hists[key].get(name) if key in hists else None
            row[f"{name}_hist"] = _dense(found) if found else None
        rows.append(row)
    return rows


def _dense(sparse: dict[int, int]) -> list[int]:
    dense = [0] * (max(sparse) + 1)
    for index, count in sparse.items():
        dense[index] = count
    return dense


async def _add_to_rollups(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Append the deltas: a plain INSERT, so no change waits on another's rollup row
    (app/metrics/compaction.py moves them into the rollups)."""
    await session.execute(insert(DELTAS), rows)
