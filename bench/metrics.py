"""Metrics: summary and timeseries p99 at 4 clients on a year of rollups, an alert pass
over 100 rules, and the CPU the fold adds to a ticket change.

`python -m bench.metrics` (results in bench/README.md, "Metrics"). The rollups are
generated in SQL at the size a year of about a million tickets produces (every hour of
the year for every dimension value, daily rows on top), not folded from ten million
events: what a query costs depends on the rows it reads, 365 daily rows per value for
a year, whatever the number of tickets behind them.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker

from app.alerts.evaluate import evaluate_all
from app.config import Settings
from app.db import create_engine
from app.metrics import facts as folding
from app.metrics.business_time import BusinessTime
from app.metrics.reactions import rollup_rows
from app.sla.calendar import CalendarSpec, OpeningHours, compile_calendar
from bench import db, server

URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/helpdesk_bench_metrics"
DIMENSIONS = {"team": 10, "agent": 50, "channel": 7, "category": 12, "priority": 5, "tag": 20}
GROUPS = ["channel", "category", "team", "agent", "priority", "tag"]
METRICS = ["created", "resolved", "first_response_time", "time_to_resolve", "csat", "fcr_rate"]
YEAR_START = datetime(2025, 12, 1, tzinfo=UTC)

_ROWS = """
INSERT INTO metric_rollups (grain, dim, val, sub, bucket, created, resolved, first_resolved,
    fcr, reopened, csat_answered, csat_positive, sla_ok, breaches, open_delta,
    frt_n, frt_sum, frt_hist, ttr_n, ttr_sum, ttr_hist)
SELECT $1, $2, v::text, '', b, c, c, c, c / 2, c / 8, c / 3, c / 4, c - 1, c / 10, 0,
    c, c * 3600, ARRAY(SELECT (random() * 3)::int FROM generate_series(1, 30) WHERE b IS NOT NULL),
    c, c * 86400, ARRAY(SELECT (random() * 3)::int FROM generate_series(1, 30) WHERE b IS NOT NULL)
FROM generate_series($3::timestamptz, $4::timestamptz - $5::interval, $5::interval) AS b,
     generate_series(1, $6) AS v,
     LATERAL (SELECT 1 + (random() * $7)::int AS c) AS n
WHERE random() < $8
"""


async def load() -> None:
    await db.ensure_database(URL)
    server.migrate(URL)
    connection = await db.connect(URL)
    try:
        await connection.execute("TRUNCATE metric_rollups")
        end = YEAR_START + timedelta(days=365)
        hour, day = timedelta(hours=1), timedelta(days=1)
        plans = [("*", 1, 114, 1.0)] + [(d, n, 114 // n + 1, 0.6) for d, n in DIMENSIONS.items()]
        for dim, values, per_hour, share in plans:
            started = time.perf_counter()
            await connection.execute(
                _ROWS, "h", dim, YEAR_START, end, hour, values, per_hour, share
            )
            await connection.execute(
                _ROWS, "d", dim, YEAR_START, end, day, values, per_hour * 24, 1.0
            )
            print(f"  rollups of {dim}: {time.perf_counter() - started:.1f} s")
        await connection.execute("ANALYZE metric_rollups")
        rows = await connection.fetchval("SELECT count(*) FROM metric_rollups")
        print(f"  {rows:,} rollup rows")
    finally:
        await connection.close()


def _summary_params(rng: random.Random) -> dict[str, str]:
    params = {"from": "2025-12-01", "to": "2026-12-01"}
    dim = rng.choice([None, *DIMENSIONS])
    if dim is not None:
        name = {"team": "team_id", "agent": "agent_id"}.get(dim, dim)
        params[name] = str(rng.randint(1, DIMENSIONS[dim]))
    return params


def _series_params(rng: random.Random) -> dict[str, str]:
    return {
        "from": "2025-12-01",
        "to": "2026-12-01",
        "interval": "day",
        "metric": rng.choice(METRICS),
        "group_by": rng.choice(GROUPS),
    }


async def _client_loop(
    base: str, token: str, path: str, make: Any, seconds: float, seed: int
) -> list[float]:
    rng = random.Random(seed)
    latencies = []
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}) as c:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            started = time.perf_counter()
            response = await c.get(path, params=make(rng), timeout=30)
            latencies.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
    return latencies


async def http(base: str, token: str, seconds: float, clients: int) -> None:
    for name, path, make in (
        ("summary", "/api/v1/metrics/summary", _summary_params),
        ("timeseries", "/api/v1/metrics/timeseries", _series_params),
    ):
        await _client_loop(base, token, path, make, 2, 999)  # warm up
        runs = await asyncio.gather(
            *(_client_loop(base, token, path, make, seconds, n) for n in range(clients))
        )
        latencies = sorted(x for run in runs for x in run)
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        print(
            f"  {name}: {len(latencies)} requests at {clients} clients, "
            f"p50 {statistics.median(latencies):.1f} ms, p99 {p99:.1f} ms"
        )


async def alert_pass(rules: int) -> None:
    connection = await db.connect(URL)
    try:
        await connection.execute("DELETE FROM alert_rules")
        rng = random.Random(7)
        metrics = [
            "sla_breaches",
            "csat",
            "complaints",
            "created",
            "fcr_rate",
            "backlog",
            "first_response_median",
            "unassigned_waiting",
        ]
        for n in range(rules):
            dim = rng.choice([None, *DIMENSIONS])
            value = None if dim is None else str(rng.randint(1, DIMENSIONS[dim]))
            await connection.execute(
                "INSERT INTO alert_rules (name, metric, filter_dim, filter_value, "
                "window_minutes, comparison, threshold, cooldown_minutes) "
                "VALUES ($1, $2, $3, $4, $5, 'gt', 1e9, 60)",
                f"rule {n}",
                rng.choice(metrics),
                dim,
                value,
                rng.choice([60, 240, 1440]),
            )
    finally:
        await connection.close()
    engine = create_engine(Settings(database_url=URL), URL)
    maker = async_sessionmaker(engine, expire_on_commit=False)
    try:
        now = YEAR_START + timedelta(days=200)
        times = []
        for _ in range(5):
            started = time.perf_counter()
            await evaluate_all(maker, now)
            times.append(time.perf_counter() - started)
        print(f"  alert pass over {rules} rules: median {statistics.median(times) * 1000:.0f} ms")
    finally:
        await engine.dispose()


def fold_cpu(changes: int = 20_000, *, business_hours: bool = False) -> None:
    """CPU of the fold per ticket change: the facts update and the rollup rows it makes
    (the SQL it sends is two statements per change, measured with the write path). With
    `business_hours`, the ticket's policy counts on a Mon-Fri 9-17 Berlin calendar."""
    office = compile_calendar(
        CalendarSpec(
            "Europe/Berlin", hours=tuple(OpeningHours(d, 9 * 60, 17 * 60) for d in range(5))
        )
    )
    elapsed = BusinessTime({1: office} if business_hours else {})
    at = YEAR_START
    facts, _ = folding.file(
        1,
        at,
        {
            "channel": "email",
            "priority": "high",
            "team_id": 3,
            "category": "billing",
            "sla_policy_id": 1,
        },
        "new",
        ("vip", "eu"),
    )
    steps: list[tuple[str, dict[str, Any]]] = [
        ("ticket.owner_changed", {"to": {"id": 7}, "reason": "manual"}),
        ("message.created", {"visibility": "public", "author_role": "agent"}),
        ("message.created", {"visibility": "public", "author_role": "customer"}),
        ("ticket.status_changed", {"from": "new", "to": "open"}),
        ("ticket.status_changed", {"from": "open", "to": "resolved"}),
        ("ticket.status_changed", {"from": "resolved", "to": "open"}),
    ]
    started = time.process_time()
    for n in range(changes):
        kind, data = steps[n % len(steps)]
        at += timedelta(minutes=7)
        deltas = folding.apply(facts, kind, at, data, 5, elapsed)
        rollup_rows(deltas)
    per_change = (time.process_time() - started) / changes * 1000
    counted = "business hours" if business_hours else "wall-clock"
    print(f"  fold CPU per ticket change ({counted}): {per_change:.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    fold_cpu()
    fold_cpu(business_hours=True)
    if not args.skip_load:
        asyncio.run(load())
    asyncio.run(alert_pass(100))
    token = server.create_admin(URL, f"bench{int(time.time())}@example.com", "Bench")
    env = {
        "HELPDESK_ALERT_EVALUATOR": "false",
        "HELPDESK_RATE_LIMIT_PER_MINUTE": "100000000",
        "HELPDESK_RATE_LIMIT_BURST": "1000000",
    }
    with server.Server(URL, port=8771, env=env) as running:
        asyncio.run(http(running.base_url, token, args.duration, args.clients))


if __name__ == "__main__":
    main()
