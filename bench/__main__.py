"""`python -m bench [tickets|load|http] ...`: the benchmark tools (see bench/README.md).

- `tickets` (the default): the whole ticket benchmark. Creates and migrates the
  benchmark database, loads N tickets (unless --skip-load), starts `helpdesk serve`,
  runs the HTTP scenarios, EXPLAIN ANALYZEs the list and search queries, prints a
  results table and stops the server.
- `load`: only fill the database (bench/load_tickets.py).
- `http`: only the load generator, against a server you started (bench/http_load.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench import db, explain, http_load, load_tickets, profile, server

# Scenario -> (minimum requests/s, maximum p99 ms), from the tickets issue.
TARGETS: dict[str, tuple[float | None, float | None]] = {
    "create": (400.0, 150.0),
    "get": (1500.0, None),
    "list_open": (None, 50.0),
    "search": (None, 50.0),
}
# create last: the notifications it enqueues are delivered by the server's workers for a
# while afterwards, and would take CPU from the scenarios that followed.
DEFAULT_PLAN = "get:32,list_open:2,list_open:32,search:2,search:32,create:32"
SERVER_ENV = {
    # Generous limits: the benchmark measures the service, not the rate limiter.
    "HELPDESK_RATE_LIMIT_PER_MINUTE": "100000000",
    "HELPDESK_RATE_LIMIT_BURST": "1000000",
}


@dataclass
class Verdict:
    met: bool | None
    text: str


def verdict(result: http_load.Result) -> Verdict:
    min_rps, max_p99 = TARGETS[result.scenario]
    parts, met = [], True
    if min_rps is not None:
        parts.append(f">= {min_rps:,.0f}/s")
        met &= result.ok_rps >= min_rps
    if max_p99 is not None:
        parts.append(f"p99 < {max_p99:.0f} ms")
        met &= result.latencies_ms["p99"] < max_p99
    met &= result.errors == 0
    return Verdict(met=met, text=" & ".join(parts))


def _plan(text: str) -> list[tuple[str, int]]:
    plan = []
    for item in text.split(","):
        name, _, concurrency = item.strip().partition(":")
        if name not in http_load.SCENARIOS:
            raise argparse.ArgumentTypeError(f"unknown scenario {name!r}")
        plan.append((name, int(concurrency or 32)))
    return plan


def print_table(results: list[http_load.Result]) -> None:
    """The results, with where the CPU went: per request, and as a share of the machine."""
    header = (
        f"{'scenario':<10} {'conc':>4} {'req/s':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
        f"{'max ms':>7} {'errors':>6}  {'target':<24} {'met':<3}  "
        f"{'CPU ms/req srv|pg':>17}  machine: srv / pg / gen / other"
    )
    print("\n" + header)
    print("-" * len(header))
    cores = os.cpu_count() or 1
    for r in results:
        v = verdict(r)
        lat = r.latencies_ms
        capacity = (r.cpu.get("wall") or r.duration) * cores
        shares = " / ".join(
            f"{100 * r.cpu.get(k, 0.0) / capacity:3.0f}%"
            for k in ("server", "postgres", "generator", "other")
        )
        per_request = " | ".join(
            f"{1000 * r.cpu.get(k, 0.0) / max(1, r.requests):5.2f}" for k in ("server", "postgres")
        )
        print(
            f"{r.scenario:<10} {r.concurrency:>4} {r.rps:>8.1f} {lat['p50']:>7.1f} "
            f"{lat['p95']:>7.1f} {lat['p99']:>7.1f} {lat['max']:>7.1f} {r.errors:>6}  "
            f"{v.text:<24} {'yes' if v.met else 'NO':<3}  {per_request:>17}  {shares}"
        )
    for r in results:
        if r.errors:
            print(f"\n{r.scenario} c={r.concurrency}: {r.errors} errors, statuses {r.statuses}")
            for sample in r.error_samples[:5]:
                print(f"  sample: {sample}")


def machine() -> dict[str, Any]:
    def run(command: list[str]) -> str:
        try:
            return subprocess.run(command, capture_output=True, text=True, check=False).stdout  # noqa: S603
        except OSError:
            return ""

    return {
        "nproc": run(["nproc"]).strip(),
        "lscpu": "\n".join(run(["lscpu"]).splitlines()[:10]),
        "memory": run(["free", "-h"]).splitlines()[1:2],
        "loadavg": Path("/proc/loadavg").read_text().strip(),
        "python": platform.python_version(),
        "git": run(["git", "-C", str(server.REPO), "describe", "--always", "--dirty"]).strip(),
        "git_changed_files": len(
            run(["git", "-C", str(server.REPO), "status", "--porcelain"]).splitlines()
        ),
    }


async def _bench_people(url: str) -> dict[str, Any]:
    conn = await db.connect(url)
    try:
        agents = [
            r["id"]
            for r in await conn.fetch(
                "SELECT id FROM users WHERE role = 'agent' AND active ORDER BY id LIMIT 4"
            )
        ]
        customers = [
            r["id"]
            for r in await conn.fetch("SELECT id FROM users WHERE role = 'customer' AND active")
        ]
        teams = [r["id"] for r in await conn.fetch("SELECT id FROM teams ORDER BY id")]
        low, high, count = await conn.fetchrow("SELECT min(id), max(id), count(*) FROM tickets")
        pg_version = await conn.fetchval("SHOW server_version")
        settings = {
            name: await conn.fetchval(f"SHOW {name}")
            for name in (
                "shared_buffers",
                "work_mem",
                "max_connections",
                "synchronous_commit",
                "autovacuum",
            )
        }
        sizes = await conn.fetchrow(
            "SELECT pg_size_pretty(pg_table_size('tickets')) AS tickets_table, "
            "pg_size_pretty(pg_indexes_size('tickets')) AS tickets_indexes, "
            "pg_size_pretty(pg_total_relation_size('ticket_events')) AS events_total"
        )
        open_count = await conn.fetchval("SELECT count(*) FROM tickets WHERE status = 'open'")
        open_ids = [
            r["id"]
            for r in await conn.fetch(
                "SELECT id FROM tickets WHERE status = 'open' ORDER BY id LIMIT 20000"
            )
        ]
        postmaster = http_load.postmaster_of(await conn.fetchval("SELECT pg_backend_pid()"))
    finally:
        await conn.close()
    return {
        "agents": agents,
        "customers": customers,
        "teams": teams,
        "ticket_ids": (low or 0, high or 0),
        "tickets": count,
        "open": open_count,
        "open_ids": open_ids,
        "postgres": pg_version,
        "settings": settings,
        "sizes": dict(sizes),
        "postmaster_pid": postmaster,
    }


async def _drop_undelivered_notifications(url: str) -> int:
    """Notifications enqueued by an earlier run's creates would be delivered by this run's
    server while it is being measured: that is the earlier run's work, so drop them."""
    conn = await db.connect(url)
    try:
        if not await conn.fetchval("SELECT to_regclass('notification_deliveries') IS NOT NULL"):
            return 0
        status = await conn.execute(
            "DELETE FROM notification_deliveries WHERE delivered_at IS NULL"
        )
        return int(status.split()[-1])
    finally:
        await conn.close()


async def _pg_sessions(url: str) -> int:
    conn = await db.connect(url)
    try:
        name = db.database_name(url)
        # Counted when a session starts: this one included (the caller subtracts it).
        sessions = await conn.fetchval(
            "SELECT sessions FROM pg_stat_database WHERE datname = $1", name
        )
        return int(sessions or 0)
    finally:
        await conn.close()


def _wait_for_quiet(max_wait: float, threshold: float) -> None:
    """Start a scenario only when other processes leave the CPUs mostly idle (or time out).

    The machine may be shared; between scenarios our server is idle, so what keeps the
    CPUs busy now is someone else, and it would take its share of the next run.
    """
    deadline = time.monotonic() + max_wait
    while True:
        busy = http_load.machine_busy_share(2.0)
        if busy <= threshold:
            return
        if time.monotonic() >= deadline:
            print(f"  (the machine is {busy:.0%} busy with other work; measuring anyway)")
            return
        print(f"  (the machine is {busy:.0%} busy with other work; waiting for it to settle)")


def _issue_tokens(base_url: str, admin_token: str, user_ids: list[int]) -> list[str]:
    headers = {"Authorization": f"Bearer {admin_token}"}
    tokens = []
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
        for user_id in user_ids:
            response = client.post(f"/api/v1/users/{user_id}/tokens", json={"name": "bench"})
            response.raise_for_status()
            tokens.append(response.json()["token"])
    return tokens


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    # Unwind through the `with Server` block, which stops the server.
    raise SystemExit(128 + signum)


def cmd_tickets(args: argparse.Namespace) -> None:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    url = args.database_url or db.bench_database_url()
    started = datetime.now(UTC)
    print(f"benchmark database: {db.database_name(url)} ({url.split('@')[-1]})")
    if asyncio.run(db.ensure_database(url)):
        print("created the database")
    server.migrate(url)

    if args.skip_load:

        async def check() -> int:
            conn = await db.connect(url)
            try:
                restored = await load_tickets.restore_saved_indexes(conn)
                if restored:
                    print(f"restored {restored} indexes left dropped by an interrupted load")
                if await conn.fetchval("SHOW autovacuum") == "off":
                    # Earlier runs' tickets left dead rows and full GIN pending lists that
                    # nothing cleans with autovacuum off (this machine's CI setting): every
                    # search then scans megabytes of pending entries (4.1 vs 2.5 ms of
                    # PostgreSQL per search, measured). Do what autovacuum would have done.
                    print("PostgreSQL runs with autovacuum off: VACUUM ANALYZE first")
                    await conn.execute("VACUUM ANALYZE")
                    # Then write out what it dirtied: otherwise the first scenario's
                    # backends evict dirty buffers themselves and stall on the writes
                    # (get:32 measured p99 1.8 s right after a VACUUM, 40 ms after this).
                    await conn.execute("CHECKPOINT")
                return int(await conn.fetchval("SELECT count(*) FROM tickets"))
            finally:
                await conn.close()

        have = asyncio.run(check())
        print(f"--skip-load: using the {have:,} tickets already in the database")
        if have == 0:
            raise SystemExit("no tickets loaded: run without --skip-load first")
        load_report = None
    else:
        load_report = asyncio.run(
            load_tickets.load(url, args.tickets, customers=args.customers, agents=args.agents)
        )

    dropped = asyncio.run(_drop_undelivered_notifications(url))
    if dropped:
        print(f"dropped {dropped:,} undelivered notifications left by an earlier run")
    people = asyncio.run(_bench_people(url))
    if not people["agents"] or not people["customers"]:
        raise SystemExit("the database has no agents or customers: load it first")
    print(
        f"{people['tickets']:,} tickets ({people['open']:,} open), "
        f"{len(people['customers']):,} customers; tickets table {people['sizes']['tickets_table']}"
        f" + indexes {people['sizes']['tickets_indexes']}"
    )
    admin_token = server.create_admin(
        url, f"bench-admin-{int(time.time())}@bench.example.com", "Bench Admin"
    )

    results: list[http_load.Result] = []
    profiles: dict[str, profile.Summary] = {}
    server_env = dict(SERVER_ENV)
    for item in args.server_env:
        key, _, value = item.partition("=")
        server_env[key] = value
    app_server = server.Server(url, port=args.port, workers=args.workers, env=server_env)
    extra = " ".join(f"{k}={v}" for k, v in server_env.items() if k not in SERVER_ENV)
    print(
        f"starting helpdesk serve --workers {args.workers} --port {args.port} {extra}(log: "
        f"{app_server.log_path})"
    )
    with app_server:
        tokens = _issue_tokens(app_server.base_url, admin_token, people["agents"])
        target = http_load.Target(
            base_url=app_server.base_url,
            tokens=tokens,
            ticket_ids=tuple(people["ticket_ids"]),
            requester_ids=people["customers"],
            team_ids=people["teams"],
            status_ids=people["open_ids"],
        )
        engine = args.engine
        if engine == "auto":
            engine = "wrk" if http_load.wrk_available() else "python"
        print(
            f"load generator: {engine}; {args.duration:.0f} s per scenario after "
            f"{args.warmup:.0f} s warm-up\n"
        )
        for scenario, concurrency in args.plan:
            _wait_for_quiet(args.quiet_wait, args.quiet_threshold)
            profiler = None
            if args.py_spy:
                assert app_server.process is not None
                profiler = profile.Profiler(
                    args.py_spy,
                    profile.worker_pids(app_server.process.pid),
                    server.LOG_DIR,
                    f"{scenario}-c{concurrency}",
                )
                profiler.start(args.warmup + args.duration + 1)
            sessions_before = asyncio.run(_pg_sessions(url))
            result = http_load.run_scenario(
                target,
                scenario,
                concurrency=concurrency,
                duration=args.duration,
                warmup=args.warmup,
                engine="python" if scenario == "status" else engine,
                server_pids=app_server.pids(),
                postmaster_pid=people["postmaster_pid"],
            )
            # New server connections (pg_stat_database.sessions) during warm-up and run: a
            # pool too small for the concurrency opens and closes overflow connections.
            result.extra["new_db_connections"] = (
                asyncio.run(_pg_sessions(url)) - sessions_before - 1
            )
            result.print()
            print(f"  new database connections: {result.extra['new_db_connections']}")
            results.append(result)
            if profiler is not None:
                profiles[f"{scenario} c={concurrency}"] = profiler.stop()
    print("server stopped")
    for title, summary in profiles.items():
        summary.print(title)

    print_table(results)

    explained = None
    if not args.no_explain:
        conn_people = people
        explained = asyncio.run(
            explain.explain_all(
                url,
                viewer_id=conn_people["agents"][0],
                ticket_id=conn_people["ticket_ids"][1] // 2 or 1,
            )
        )
        explained.print(plans=not args.no_plans)

    info = machine()
    model = next((x for x in info["lscpu"].splitlines() if x.startswith("Model name")), "")
    print(f"\nmachine: nproc {info['nproc']}; {' '.join(model.split())}; load {info['loadavg']}")
    print(f"PostgreSQL {people['postgres']}; {people['settings']}")
    print(f"command: {' '.join([os.path.basename(sys.executable), '-m', 'bench', *sys.argv[1:]])}")
    print(f"started {started.isoformat(timespec='seconds')}")

    out_dir = server.LOG_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"results-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(
        json.dumps(
            {
                "started": started.isoformat(),
                "argv": sys.argv,
                "machine": info,
                "database": {k: v for k, v in people.items() if k not in ("customers", "open_ids")},
                "load": None
                if load_report is None
                else {"phases": load_report.phases, "total_seconds": load_report.total_seconds},
                "results": [
                    asdict(r) | {"rps": r.rps, "verdict": asdict(verdict(r))} for r in results
                ],
                "explain": None
                if explained is None
                else {
                    "list_open_custom_ms": [e.execution_ms for e in explained.list_open_custom],
                    "list_open_prepared_ms": [e.execution_ms for e in explained.list_open_prepared],
                    "search_custom": {
                        k: getattr(explained.search_custom, k)
                        for k in ("count", "p50", "p95", "p99", "max", "plans", "planning_p50")
                    },
                    "search_edges": [
                        {
                            "q": q,
                            "matches": m,
                            "custom_ms": c.execution_ms,
                            "prepared_ms": pr.execution_ms,
                            "plan": c.shape,
                        }
                        for q, m, c, pr in explained.search_edges
                    ],
                    "search_prepared": {
                        k: getattr(explained.search_prepared, k)
                        for k in ("count", "p50", "p95", "p99", "max", "plans", "planning_p50")
                    },
                },
            },
            indent=2,
            default=str,
        )
    )
    print(f"results saved to {out}")


def _add_tickets_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tickets", type=int, default=1_000_000, help="to load (default 1M)")
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--agents", type=int, default=30)
    parser.add_argument(
        "--skip-load", action="store_true", help="use the tickets already in the database"
    )
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--plan",
        type=_plan,
        default=_plan(DEFAULT_PLAN),
        help=f"scenario:concurrency,... (default {DEFAULT_PLAN})",
    )
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds each")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--engine", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=120.0,
        help="seconds to wait, before each scenario, for other load to drop (default 120)",
    )
    parser.add_argument(
        "--quiet-threshold",
        type=float,
        default=0.15,
        help="machine CPU share considered quiet (default 0.15)",
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the server, e.g. HELPDESK_DB_POOL_SIZE=20 (repeatable)",
    )
    parser.add_argument(
        "--py-spy",
        metavar="PATH",
        help="profile the server's workers during each scenario with this py-spy binary",
    )
    parser.add_argument("--no-explain", action="store_true", help="skip the EXPLAIN ANALYZE part")
    parser.add_argument("--no-plans", action="store_true", help="print timings, not whole plans")
    parser.add_argument(
        "--database-url",
        default=None,
        help="default: $HELPDESK_BENCH_DATABASE_URL or " + db.DEFAULT_BENCH_URL,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    tickets = commands.add_parser("tickets", help="the whole ticket benchmark (default)")
    _add_tickets_arguments(tickets)
    tickets.set_defaults(handler=cmd_tickets)
    load = commands.add_parser("load", help="fill the benchmark database with tickets")
    load_tickets.add_arguments(load)
    load.set_defaults(handler=lambda a: asyncio.run(load_tickets.run(a)))
    http = commands.add_parser("http", help="run the load generator against a server")
    http_load.add_arguments(http)
    http.set_defaults(handler=http_load.run)

    argv = sys.argv[1:] if argv is None else argv
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv = ["tickets", *argv]
    args = parser.parse_args(argv)
    args.handler(args)


if __name__ == "__main__":
    main()
