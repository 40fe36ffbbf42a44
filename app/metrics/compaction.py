"""Moving the rollup deltas into the rollups, in the background.

One statement, so a reader (who adds the rollups and the deltas) sees the deltas either
still apart or already in, never both or neither; under an advisory lock, so one
compactor runs at a time across processes (and only it writes `metric_rollups`).
"""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.metrics.definitions import COUNTERS, TIMES

# pg_try_advisory_xact_lock key: "mtrc".
COMPACTOR_LOCK = 0x6D747263

_SUMS = [*COUNTERS, *(f"{t}_{p}" for t in TIMES for p in ("n", "sum"))]
_HISTS = [f"{t}_hist" for t in TIMES]
_KEY = "grain, dim, val, sub, bucket"
_COMPACT = text(
    f"""
    WITH moved AS (DELETE FROM metric_rollup_deltas RETURNING *)
    INSERT INTO metric_rollups ({_KEY}, {", ".join(_SUMS)}, {", ".join(_HISTS)})
    SELECT {_KEY}, {", ".join(f"sum({c})" for c in _SUMS)},
           {", ".join(f"metric_hist_sum({h})" for h in _HISTS)}
    FROM moved GROUP BY {_KEY}
    ORDER BY {_KEY}
    ON CONFLICT ({_KEY}) DO UPDATE SET
        {", ".join(f"{c} = metric_rollups.{c} + EXCLUDED.{c}" for c in _SUMS)},
        {", ".join(f"{h} = metric_hist_add(metric_rollups.{h}, EXCLUDED.{h})" for h in _HISTS)}
    """  # noqa: S608 - column names are ours, not input
)


async def compact(session: AsyncSession) -> int:
    """Fold every committed delta into the rollups; the number of rollup rows written
    (0 when another process is compacting)."""
    if not await session.scalar(select(func.pg_try_advisory_xact_lock(COMPACTOR_LOCK))):
        return 0
    result = await session.execute(_COMPACT)
    return int(getattr(result, "rowcount", 0) or 0)


async def compact_all(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session, session.begin():
        return await compact(session)
