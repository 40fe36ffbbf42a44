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
from bench import db, load_tickets, server

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


# Nine more events per ticket after its `ticket.created`: a public reply, a customer
# message, an internal note, status changes, a resolution. The figures are read from the
# rollups, so these only give the database the size of a desk with that history.
_MORE_EVENTS = """
INSERT INTO ticket_events (ticket_id, kind, visibility, actor_id, data, ticket_version,
    created_at)
SELECT t.id, step.kind, step.visibility, t.created_by_id, step.data, 1 + n,
    t.created_at + n * interval '37 minutes'
FROM tickets t
CROSS JOIN generate_series(1, 9) AS n
CROSS JOIN LATERAL (VALUES (
    CASE n % 3 WHEN 0 THEN 'ticket.status_changed' ELSE 'message.created' END,
    CASE n % 4 WHEN 2 THEN 'internal' ELSE 'public' END,
    CASE n % 3 WHEN 0 THEN jsonb_build_object('from', 'open', 'to', 'pending')
    ELSE jsonb_build_object('visibility', 'public', 'author_role', 'agent',
        'message_id', t.id * 10 + n) END
)) AS step(kind, visibility, data)
WHERE t.id % 2 = $1
"""


async def load_history(tickets: int) -> None:
    """`tickets` tickets with ten events each (bench/load_tickets.py, then SQL)."""
    await load_tickets.load(URL, tickets)
    connections = [await db.connect(URL), await db.connect(URL)]
    try:
        started = time.perf_counter()
        for connection in connections:
            # No live notification per row: nobody listens, and the queue would fill.
            await connection.execute("SET session_replication_role = replica")
        await asyncio.gather(*(c.execute(_MORE_EVENTS, n) for n, c in enumerate(connections)))
        await connections[0].execute("VACUUM ANALYZE ticket_events")
        events = await connections[0].fetchval("SELECT count(*) FROM ticket_events")
        print(f"  {events:,} events in all ({time.perf_counter() - started:.0f} s for the nine)")
    finally:
        for connection in connections:
            await connection.close()


_SUMMED = (
    "created, resolved, first_resolved, fcr, reopened, csat_answered, csat_positive, "
    "sla_ok, breaches, open_delta, frt_n, frt_sum, ttr_n, ttr_sum"
)
_MONTHS = f"""
INSERT INTO metric_rollups (grain, dim, val, sub, bucket, {_SUMMED}, frt_hist, ttr_hist)
SELECT 'm', dim, val, sub, date_trunc('month', bucket, 'UTC'),
    {", ".join(f"sum({c})" for c in _SUMMED.split(", "))},
    metric_hist_sum(frt_hist), metric_hist_sum(ttr_hist)
FROM metric_rollups WHERE grain = 'd'
GROUP BY dim, val, sub, date_trunc('month', bucket, 'UTC')
"""  # noqa: S608 - column names are ours


async def load() -> None:
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
        started = time.perf_counter()
        await connection.execute(_MONTHS)
        print(f"  monthly rollups from the daily ones: {time.perf_counter() - started:.1f} s")
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


ENDPOINTS = (
    ("summary", "/api/v1/metrics/summary", _summary_params),
    ("timeseries", "/api/v1/metrics/timeseries", _series_params),
)


async def http(
    base: str, token: str, seconds: float, clients: int
) -> dict[str, tuple[float, float]]:
    """(p50, p99) in ms per endpoint, each at `clients` closed-loop clients."""
    figures = {}
    for name, path, make in ENDPOINTS:
        await _client_loop(base, token, path, make, 2, 999)  # warm up
        runs = await asyncio.gather(
            *(_client_loop(base, token, path, make, seconds, n) for n in range(clients))
        )
        latencies = sorted(x for run in runs for x in run)
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        figures[name] = (statistics.median(latencies), p99)
        print(
            f"  {name}: {len(latencies)} requests at {clients} clients, "
            f"p50 {figures[name][0]:.1f} ms, p99 {p99:.1f} ms"
        )
    return figures


SERVER_ENV = {
    "HELPDESK_ALERT_EVALUATOR": "false",
    # The loaded tickets have no facts rows: the rebuild at start would fold all of them
    # while the clients measure (the figures read come from the generated rollups).
    "HELPDESK_METRICS_COMPACTOR": "false",
    "HELPDESK_RATE_LIMIT_PER_MINUTE": "100000000",
    "HELPDESK_RATE_LIMIT_BURST": "1000000",
}


def compare(before: str, token: str, args: argparse.Namespace) -> None:
    """This checkout against another one's `helpdesk` on the same rollups, round by
    round, the order flipping each round, so that a noisy machine weighs on both alike."""
    sides = {"before": before, "after": None}
    results: dict[str, list[dict[str, tuple[float, float]]]] = {"before": [], "after": []}
    for round_no in range(args.rounds):
        order = ["before", "after"] if round_no % 2 == 0 else ["after", "before"]
        for side in order:
            print(f"round {round_no + 1}, {side}:")
            # The database is at this checkout's migration: the other commit's /readyz
            # would say its schema is pending, so it counts as up once it serves.
            ready = "/healthz" if side == "before" else "/readyz"
            with server.Server(
                URL, port=8771, env=SERVER_ENV, command=sides[side], ready_path=ready
            ) as running:
                figures = asyncio.run(http(running.base_url, token, args.duration, args.clients))
            results[side].append(figures)
    print("| endpoint | figure | before | after |")
    print("|---|---|---|---|")
    for name, _, _ in ENDPOINTS:
        for index, figure in enumerate(("p50", "p99")):
            a, b = (statistics.median(r[name][index] for r in results[s]) for s in sides)
            print(f"| {name} | {figure} (median of {args.rounds}) | {a:.0f} ms | {b:.0f} ms |")


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
    parser.add_argument(
        "--before",
        metavar="HELPDESK",
        help="another checkout's helpdesk command: compare its server with this one's",
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--tickets",
        type=int,
        default=1_000_000,
        help="tickets to load first, ten events each (0: rollups only)",
    )
    args = parser.parse_args()
    fold_cpu()
    fold_cpu(business_hours=True)
    if not args.skip_load:
        asyncio.run(db.ensure_database(URL))
        server.migrate(URL)
        if args.tickets:
            asyncio.run(load_history(args.tickets))
        asyncio.run(load())
    token = server.create_admin(URL, f"bench{int(time.time())}@example.com", "Bench")
    if args.before:
        compare(args.before, token, args)
        return
    asyncio.run(alert_pass(100))
    with server.Server(URL, port=8771, env=SERVER_ENV) as running:
        asyncio.run(http(running.base_url, token, args.duration, args.clients))


if __name__ == "__main__":
    main()
