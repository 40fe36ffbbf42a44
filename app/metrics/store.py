"""Where the fold's results live: the facts rows and the rollup deltas.

Shared by the reaction that keeps the figures current (app/metrics/reactions.py) and
the rebuild that folds the tickets filed before the metrics existed
(app/metrics/backfill.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.metrics.definitions import ALL, COUNTERS, TIMES, bin_of
from app.metrics.facts import Delta, Dims, Facts
from app.models import MetricRollup, MetricRollupDelta, MetricTicketFacts

FACTS: Table = MetricTicketFacts.__table__  # type: ignore[assignment]
ROLLUPS: Table = MetricRollup.__table__  # type: ignore[assignment]
DELTAS: Table = MetricRollupDelta.__table__  # type: ignore[assignment]

RowKey = tuple[str, str, str, str, datetime]  # grain, dim, val, sub, bucket


async def load_facts(session: AsyncSession, ticket_ids: set[int]) -> dict[int, Facts]:
    if not ticket_ids:
        return {}
    table = FACTS
    rows = await session.execute(
        select(table)
        .where(table.c.ticket_id.in_(sorted(ticket_ids)))
        .order_by(table.c.ticket_id)
        .with_for_update()
    )
    return {row.ticket_id: facts_of(row) for row in rows}


def facts_of(row: Any) -> Facts:
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
        policy_id=row.sla_policy_id,
    )


def facts_row(facts: Facts) -> dict[str, Any]:
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
        "sla_policy_id": facts.policy_id,
    }


async def save_facts(session: AsyncSession, all_facts: Iterable[Facts]) -> None:
    rows = sorted((facts_row(f) for f in all_facts), key=lambda r: int(r["ticket_id"]))
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


async def insert_new_facts(session: AsyncSession, all_facts: Iterable[Facts]) -> set[int]:
    """Insert facts rows of tickets that had none, in ticket order; a row someone else
    inserted meanwhile wins (it waits for their commit, then leaves theirs). The ids of
    the rows this inserted."""
    rows = sorted((facts_row(f) for f in all_facts), key=lambda r: int(r["ticket_id"]))
    if not rows:
        return set()
    result = await session.execute(
        insert(FACTS)
        .on_conflict_do_nothing(index_elements=["ticket_id"])
        .returning(FACTS.c.ticket_id),
        rows,
    )
    return {int(ticket_id) for ticket_id in result.scalars()}


async def add_to_rollups(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Append the deltas: a plain INSERT, so no change waits on another's rollup row
    (app/metrics/compaction.py moves them into the rollups)."""
    await session.execute(insert(DELTAS), rows)
