"""The SLA watcher and the SLA queue on a large table (`python -m bench.sla_watcher`).

Issue 14: with many open tickets under business-hour calendars, a watcher pass when
nothing is due under 50 ms (due and warning times stored and indexed, never
recomputed per pass), and the first page of `GET /tickets?sort=sla_due` fast.

A database of its own (`helpdesk_bench_sla` next to the bench database), migrated to
head, filled with `--tickets` open tickets by one INSERT ... SELECT: every ticket has
its three warning and due times in the future (days to weeks ahead, as business-hour
calendars put them), a tenth of them paused, a fifth answered. Then:

- a watcher pass with nothing due: `raise_alerts` in a transaction, as the background
  child runs it (advisory lock, the candidates query); p50/p99 of `--passes` passes;
- `EXPLAIN (ANALYZE, BUFFERS)` of the watcher's candidates query;
- the first page of the SLA queue: the key query `list_tickets(sort="sla_due")` runs,
  p50/p99, and its plan.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from app.db import asyncpg_connect_args
from app.migrations import upgrade_to_head
from app.models import Ticket
from app.sla.watcher import _ALERTS_DUE, BATCH_SIZE, raise_alerts
from app.tickets import sla_order
from bench import db

_FILL = text(
    """
    INSERT INTO tickets (subject, description, status, channel, urgency, impact, priority,
        requester_id, created_by_id, team_id, created_at, updated_at,
        first_response_due_at, first_response_warn_at, resolution_due_at, resolution_warn_at,
        next_response_due_at, next_response_warn_at, first_response_at, sla_paused_since,
        sla_due_at)
    SELECT 'Bench ' || n, 'Body', (ARRAY['new', 'open', 'pending'])[1 + n % 3], 'web',
        'medium', 'medium', (ARRAY['critical', 'high', 'medium', 'low', 'planning'])[1 + n % 5],
        :user_id, :user_id, :team_id, now() - interval '1 hour', now(),
        now() + (1 + n % 500) * interval '1 hour',
        now() + (1 + n % 500) * interval '1 hour' - interval '30 minutes',
        now() + (24 + n % 700) * interval '1 hour',
        now() + (24 + n % 700) * interval '1 hour' - interval '2 hours',
        CASE WHEN n % 4 = 0 THEN now() + (2 + n % 90) * interval '1 hour' END,
        CASE WHEN n % 4 = 0 THEN now() + (2 + n % 90) * interval '1 hour'
            - interval '20 minutes' END,
        CASE WHEN n % 5 = 0 THEN now() END,
        CASE WHEN n % 10 = 0 THEN now() END,
        CASE WHEN n % 10 <> 0 THEN now() + (1 + n % 500) * interval '1 hour' END
    FROM generate_series(1, :count) AS n
    """
)


def _quantiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered):.2f} ms, p99 {p99:.2f} ms, max {ordered[-1]:.2f} ms"


async def _fill(maker: async_sessionmaker[AsyncSession], count: int) -> None:
    async with maker() as session, session.begin():
        existing = await session.scalar(text("SELECT count(*) FROM tickets"))
        if existing and existing >= count:
            return
        user_id = await session.scalar(
            text(
                "INSERT INTO users (email, name, role) VALUES ('bench@example.com', 'Bench', "
                "'agent') ON CONFLICT DO NOTHING RETURNING id"
            )
        ) or await session.scalar(text("SELECT id FROM users WHERE email = 'bench@example.com'"))
        team_id = await session.scalar(text("SELECT id FROM teams ORDER BY id LIMIT 1"))
    step = 100_000
    for start in range(existing or 0, count, step):
        async with maker() as session, session.begin():
            await session.execute(
                _FILL, {"count": min(step, count - start), "user_id": user_id, "team_id": team_id}
            )
        print(f"  {min(start + step, count):,} tickets", flush=True)
    async with maker() as session, session.begin():
        await session.execute(text("ANALYZE tickets"))


async def _explain(session: AsyncSession, statement: str, params: dict[str, object]) -> None:
    rows = await session.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {statement}"), params)
    for row in rows:
        print("    " + row[0])


async def main(count: int, passes: int) -> None:
    url = db.with_database(db.bench_database_url(), "helpdesk_bench_sla")
    await db.ensure_database(url)
    sa_url = "postgresql+asyncpg://" + url.split("://", 1)[1]
    await asyncio.to_thread(upgrade_to_head, sa_url)
    engine = create_async_engine(sa_url, connect_args=asyncpg_connect_args(sa_url))
    maker = async_sessionmaker(engine, expire_on_commit=False)
    print(f"filling to {count:,} open tickets ...", flush=True)
    await _fill(maker, count)

    timings = []
    for _ in range(passes):
        began = time.perf_counter()
        async with maker() as session, session.begin():
            batch = await raise_alerts(session, datetime.now(UTC), 0.8)
        timings.append((time.perf_counter() - began) * 1000)
        assert batch.raised == 0, "something was due: the bench data is wrong"
    print(f"watcher pass, nothing due ({passes} passes): {_quantiles(timings)}")
    async with maker() as session:
        print("  plan of the candidates query:")
        await _explain(
            session, str(_ALERTS_DUE.text), {"now": datetime.now(UTC), "limit": BATCH_SIZE}
        )

    page = select(Ticket.id, Ticket.sla_due_at).order_by(*sla_order.ORDER).limit(50)
    timings = []
    for _ in range(passes):
        began = time.perf_counter()
        async with maker() as session:
            rows = (await session.execute(page)).all()
        timings.append((time.perf_counter() - began) * 1000)
        assert len(rows) == 50
    print(f"sort=sla_due first page keys, 50 rows ({passes} runs): {_quantiles(timings)}")
    async with maker() as session:
        compiled = page.compile(engine.sync_engine, compile_kwargs={"literal_binds": True})
        print("  plan:")
        await _explain(session, str(compiled), {})
    await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--passes", type=int, default=50)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.tickets, arguments.passes))
