"""`python -m bench.handover`: an agent with 2,000 open tickets starts an absence.

Against a real server (`helpdesk serve`, two workers) and a real PostgreSQL:

1. creates (and migrates) its own database, `helpdesk_handover_bench` next to the
   benchmark database (HELPDESK_HANDOVER_BENCH_DATABASE_URL names another), and empties it;
2. through the API: an admin, the absent agent Marco, his backup Anna, a few colleagues
   with tickets of their own, and N tickets routed to Marco on arrival, each answered
   by him once (so it is open and has a timeline to brief from);
3. reads tickets (GET /tickets/{id}) at a steady rate for a while (the baseline);
4. records Marco's absence, starting now, with Anna as backup: the scheduler is woken
   at commit and hands everything over; the readers keep reading all along;
5. polls the database until Marco owns no open ticket, and reports the time that took,
   the read latencies during the handover against the baseline, and what was written
   (events, deliveries), into bench/HANDOVER.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import random
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench import db, server

API = "/api/v1"
REPORT = Path(__file__).resolve().parent / "HANDOVER.md"
TARGET_SECONDS = 30.0
SERVER_ENV = {
    "HELPDESK_RATE_LIMIT_PER_MINUTE": "100000000",
    "HELPDESK_RATE_LIMIT_BURST": "1000000",
}


def database_url() -> str:
    configured = os.environ.get("HELPDESK_HANDOVER_BENCH_DATABASE_URL")
    if configured:
        return configured
    return db.with_database(db.bench_database_url(), "helpdesk_handover_bench")


async def reset(url: str) -> None:
    connection = await db.connect(url)
    try:
        tables = await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> 'alembic_version'"
        )
        names = ", ".join(f'"{row["tablename"]}"' for row in tables)
        await connection.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    finally:
        await connection.close()


def _cpu_times() -> tuple[int, int]:
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


async def busy_share(seconds: float = 2.0) -> float:
    """How busy the machine's CPUs are (0..1) over `seconds`, whoever keeps them busy."""
    busy_before, total_before = _cpu_times()
    await asyncio.sleep(seconds)
    busy_after, total_after = _cpu_times()
    return (busy_after - busy_before) / max(1, total_after - total_before)


async def wait_for_quiet(max_wait: float, threshold: float) -> float:
    """Measure only when other work leaves the shared CPUs mostly idle (or time out)."""
    deadline = time.monotonic() + max_wait
    while True:
        busy = await busy_share()
        if busy <= threshold or time.monotonic() >= deadline:
            return busy
        print(f"  (the machine is {busy:.0%} busy with other work; waiting for it to settle)")


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
    return ordered[index]


@dataclass
class Reads:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    started: float = 0.0
    stopped: float = 0.0

    def summary(self) -> dict[str, float]:
        seconds = max(self.stopped - self.started, 1e-9)
        return {
            "requests": float(len(self.latencies_ms)),
            "rps": len(self.latencies_ms) / seconds,
            "p50": percentile(self.latencies_ms, 50),
            "p95": percentile(self.latencies_ms, 95),
            "p99": percentile(self.latencies_ms, 99),
            "max": max(self.latencies_ms, default=float("nan")),
            "errors": float(self.errors),
        }


class _Connection:
    """A bare HTTP/1.1 keep-alive connection: a reader that costs the shared CPU little
    (httpx would spend more of it than the requests it measures)."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port = host, port
        self.head = f"Host: {host}:{port}\r\nAuthorization: Bearer {token}\r\n\r\n"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> int:
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(f"GET {path} HTTP/1.1\r\n{self.head}".encode())
        status_line = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return int(status_line.split()[1])

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def read_at_rate(
    base_url: str, token: str, ids: list[int], rate: float, stop: asyncio.Event, lanes: int = 8
) -> Reads:
    """GET /tickets/{id} at a steady rate over `lanes` keep-alive connections. Each
    request is timed from when it was due, so a stalled server shows in the latencies
    instead of being hidden by readers that slow down with it (coordinated omission)."""
    reads = Reads(started=time.perf_counter())
    host, port = base_url.split("://", 1)[1].rsplit(":", 1)

    async def lane(offset: float) -> None:
        connection = _Connection(host, int(port), token)
        due = time.perf_counter() + offset
        try:
            while not stop.is_set():
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                try:
                    status = await connection.get(f"{API}/tickets/{random.choice(ids)}")
                except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                    status = 0
                    connection.close()
                    connection = _Connection(host, int(port), token)
                if status == 200:
                    reads.latencies_ms.append((time.perf_counter() - due) * 1000)
                else:
                    reads.errors += 1
                due += lanes / rate
        finally:
            connection.close()

    await asyncio.gather(*(lane(i / rate) for i in range(lanes)))
    reads.stopped = time.perf_counter()
    return reads


async def _ok(response: httpx.Response, status: int = 200) -> Any:
    if response.status_code != status:
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.text}")
    return response.json()


async def _in_parallel(count: int, concurrency: int, make: Any) -> list[Any]:
    slots = asyncio.Semaphore(concurrency)

    async def one(index: int) -> Any:
        async with slots:
            return await make(index)

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def setup(base_url: str, admin_token: str, tickets: int) -> dict[str, Any]:
    admin = {"Authorization": f"Bearer {admin_token}"}
    stamp = int(time.time())
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:

        async def user(name: str, role: str) -> dict[str, Any]:
            body = {
                "email": f"{name.lower()}-{stamp}@bench.example.com",
                "name": name,
                "role": role,
            }
            created = await _ok(await http.post(f"{API}/users", json=body, headers=admin), 201)
            token = await _ok(
                await http.post(
                    f"{API}/users/{created['id']}/tokens", json={"name": "bench"}, headers=admin
                ),
                201,
            )
            return {"id": created["id"], "token": token["token"]}

        marco, anna = await user("Marco", "agent"), await user("Anna", "agent")
        colleagues = [await user(f"Colleague{i}", "agent") for i in range(4)]
        marco_headers = {"Authorization": f"Bearer {marco['token']}"}
        team = await _ok(
            await http.post(
                f"{API}/teams",
                json={
                    "name": f"Marco's desk {stamp}",
                    "member_ids": [marco["id"]],
                    "assignment": "round_robin",
                },
                headers=admin,
            ),
            201,
        )
        others = await _ok(
            await http.post(
                f"{API}/teams",
                json={
                    "name": f"Everyone else {stamp}",
                    "member_ids": [c["id"] for c in colleagues],
                    "assignment": "round_robin",
                },
                headers=admin,
            ),
            201,
        )

        async def marcos_ticket(index: int) -> int:
            body = {
                "subject": f"Invoice {index} shows the wrong VAT",
                "description": "The invoice for March applies 22% VAT on an exempt item; "
                "please correct it and send a new one.",
                "team_id": team["id"],
                "requester": {"email": f"customer{index}-{stamp}@customers.example"},
            }
            ticket = await _ok(await http.post(f"{API}/tickets", json=body, headers=admin), 201)
            assert ticket["owner"]["id"] == marco["id"], ticket
            await _ok(
                await http.post(
                    f"{API}/tickets/{ticket['id']}/messages",
                    json={"body": "Thanks, I am checking it with accounting."},
                    headers=marco_headers,
                ),
                201,
            )
            return int(ticket["id"])

        async def someone_elses(index: int) -> int:
            body = {
                "subject": f"Other request {index}",
                "description": "Something else entirely.",
                "team_id": others["id"],
                "requester": {"email": f"other{index}-{stamp}@customers.example"},
            }
            ticket = await _ok(await http.post(f"{API}/tickets", json=body, headers=admin), 201)
            return int(ticket["id"])

        started = time.perf_counter()
        marcos = await _in_parallel(tickets, 8, marcos_ticket)
        theirs = await _in_parallel(max(200, tickets // 4), 8, someone_elses)
        print(
            f"setup: {len(marcos) + len(theirs)} tickets in {time.perf_counter() - started:.1f} s"
        )
    return {"marco": marco, "anna": anna, "marcos": marcos, "theirs": theirs}


async def open_work_of(url: str, user_id: int) -> int:
    connection = await db.connect(url)
    try:
        count: int = await connection.fetchval(
            "SELECT count(*) FROM tickets WHERE owner_id = $1 "
            "AND status IN ('new', 'open', 'pending')",
            user_id,
        )
        return count
    finally:
        await connection.close()


async def written_since(url: str, event_id: int, delivery_id: int) -> dict[str, int]:
    connection: asyncpg.Connection = await db.connect(url)
    try:
        row = await connection.fetchrow(
            """
            SELECT
              (SELECT count(*) FROM ticket_events WHERE id > $1
                 AND kind = 'ticket.owner_changed' AND data->>'reason' = 'unavailability')
                 AS handovers,
              (SELECT count(DISTINCT ticket_id) FROM ticket_events WHERE id > $1
                 AND kind = 'ticket.owner_changed') AS tickets,
              (SELECT count(*) FROM notification_deliveries WHERE id > $2) AS deliveries,
              (SELECT count(*) FROM handovers) AS records
            """,
            event_id,
            delivery_id,
        )
        return {key: int(row[key]) for key in ("handovers", "tickets", "deliveries", "records")}
    finally:
        await connection.close()


async def drained(url: str, started: float, within: float) -> float | None:
    """Seconds from the absence until every delivery was sent (None: not within timeout)."""
    connection = await db.connect(url)
    try:
        while time.perf_counter() - started < within:
            waiting = await connection.fetchval(
                "SELECT count(*) FROM notification_deliveries "
                "WHERE status IN ('pending', 'sending') AND next_attempt_at <= now()"
            )
            if not waiting:
                return time.perf_counter() - started
            await asyncio.sleep(0.5)
        return None
    finally:
        await connection.close()


async def high_water(url: str) -> tuple[int, int]:
    connection = await db.connect(url)
    try:
        events = await connection.fetchval("SELECT coalesce(max(id), 0) FROM ticket_events")
        deliveries = await connection.fetchval(
            "SELECT coalesce(max(id), 0) FROM notification_deliveries"
        )
        return int(events), int(deliveries)
    finally:
        await connection.close()


async def run(
    args: argparse.Namespace, base_url: str, admin_token: str, url: str
) -> dict[str, Any]:
    people = await setup(base_url, admin_token, args.tickets)
    ids = people["marcos"] + people["theirs"]
    reader = people["anna"]["token"]

    await drained(url, time.perf_counter(), args.mail_timeout)  # the setup's own mail first
    quiet = await wait_for_quiet(args.quiet_wait, args.quiet_threshold)
    stop = asyncio.Event()
    baseline_task = asyncio.create_task(read_at_rate(base_url, reader, ids, args.read_rate, stop))
    await asyncio.sleep(args.baseline_seconds)
    stop.set()
    baseline = await baseline_task

    load_before = os.getloadavg()[0]
    events_before, deliveries_before = await high_water(url)
    stop = asyncio.Event()
    during_task = asyncio.create_task(read_at_rate(base_url, reader, ids, args.read_rate, stop))
    await asyncio.sleep(0.5)
    marco = people["marco"]
    body = {
        "starts_at": (datetime.now(UTC) - timedelta(seconds=1)).isoformat(),
        "ends_at": (datetime.now(UTC) + timedelta(days=10)).isoformat(),
        "reason": "vacation",
        "backup_id": people["anna"]["id"],
    }
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        started = time.perf_counter()
        await _ok(
            await http.post(
                f"{API}/users/{marco['id']}/absences",
                json=body,
                headers={"Authorization": f"Bearer {marco['token']}"},
            ),
            201,
        )
    remaining = args.tickets
    progress: list[tuple[float, int]] = []
    while remaining:
        await asyncio.sleep(0.2)
        remaining = await open_work_of(url, marco["id"])
        progress.append((time.perf_counter() - started, remaining))
        if time.perf_counter() - started > args.timeout:
            break
    handover_seconds = time.perf_counter() - started
    stop.set()
    during = await during_task
    mail_seconds = await drained(url, started, args.mail_timeout)
    written = await written_since(url, events_before, deliveries_before)
    return {
        "tickets": args.tickets,
        "other_tickets": len(people["theirs"]),
        "read_rate": args.read_rate,
        "handover_seconds": handover_seconds,
        "mail_seconds": mail_seconds,
        "load_before": load_before,
        "busy_before": quiet,
        "load_after": os.getloadavg()[0],
        "left_with_marco": remaining,
        "baseline": baseline.summary(),
        "during": during.summary(),
        "written": written,
        "progress": progress,
    }


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        pg = subprocess.run(
            ["psql", "--version"],  # noqa: S607 - whichever psql is on PATH, for the record
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        pg = "?"
    return f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, {pg}"


def write_report(result: dict[str, Any], args: argparse.Namespace) -> None:
    base, during, written = result["baseline"], result["during"], result["written"]
    met = result["left_with_marco"] == 0 and result["handover_seconds"] < TARGET_SECONDS
    rate = result["tickets"] / result["handover_seconds"]
    lines = [
        "# Handover benchmark",
        "",
        "An agent with {:,} open tickets starts an absence (`python -m bench.handover`).".format(
            result["tickets"]
        ),
        "",
        f"- Run: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} on {machine()}; "
        f"the CPUs were {result['busy_before']:.0%} busy with other work before the run "
        f"(the machine is shared), 1-minute load average {result['load_before']:.1f} before "
        f"the absence and {result['load_after']:.1f} after the handover.",
        f"- Server: `helpdesk serve --workers {args.workers}`; the scheduler runs in its "
        "`helpdesk background` child process (niceness 10); batches of "
        f"{args.batch_size} tickets per transaction, {args.handover_workers} transactions "
        "side by side. Mail: "
        + (
            "one `helpdesk worker` process at idle CPU priority (`chrt --idle`), sending to "
            "the file mailbox while the handover runs."
            if args.delivery == "separate"
            else "the delivery workers inside the server processes, sending to the file "
            "mailbox while the handover runs."
        ),
        f"- Readers: GET /tickets/{{id}} at a steady {result['read_rate']:.0f} requests/s over "
        "8 keep-alive connections (each request timed from when it was due), over all "
        f"{result['tickets'] + result['other_tickets']:,} tickets (the {result['tickets']:,} "
        "being handed over included), from the same machine.",
        "",
        "## Result",
        "",
        "| | value | target |",
        "|---|---|---|",
        f"| time until all {result['tickets']:,} were handed over | "
        f"**{result['handover_seconds']:.1f} s** ({rate:,.0f} tickets/s) | "
        f"< {TARGET_SECONDS:.0f} s {'(met)' if met else '(NOT met)'} |",
        f"| tickets still with the absent agent | {result['left_with_marco']} | 0 |",
        f"| owner-change events written (reason unavailability) | {written['handovers']:,} | "
        f"{result['tickets']:,} |",
        f"| handover records (what hand-back returns) | {written['records']:,} | "
        f"{result['tickets']:,} |",
        f"| notification deliveries written meanwhile | {written['deliveries']:,} | "
        "one to each customer, one to the backup per ticket |",
        "| every due delivery sent, counted from the absence | "
        + (
            f"{result['mail_seconds']:.1f} s"
            if result["mail_seconds"] is not None
            else f"not within {args.mail_timeout:.0f} s"
        )
        + " | (no target) |",
        "",
        "Concurrent GET /tickets/{id} (ms):",
        "",
        "| | requests | req/s | p50 | p95 | p99 | max | errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, reads in (("baseline (no handover)", base), ("during the handover", during)):
        lines.append(
            f"| {name} | {reads['requests']:,.0f} | {reads['rps']:,.0f} | {reads['p50']:.1f} | "
            f"{reads['p95']:.1f} | **{reads['p99']:.1f}** | {reads['max']:.1f} | "
            f"{reads['errors']:.0f} |"
        )
    lines += [
        "",
        "Progress (seconds after the absence was recorded: tickets still with the agent):",
        "",
        "    "
        + ", ".join(
            f"{t:.1f}s: {n}"
            for t, n in result["progress"][:: max(1, len(result["progress"]) // 12)]
        ),
        "",
        "## How",
        "",
        "Recording an absence that has already started notifies the scheduler (pg_notify, "
        "delivered at commit); the process holding the scheduler's advisory lock wakes and "
        "moves the tickets in small transactions: lock a batch FOR UPDATE SKIP LOCKED, "
        "re-check it is still the absent agent's, and for the whole batch at once change "
        "the owners, append the timeline events (one INSERT), write the outbox rows (the "
        "customer's notice, the backup's notice with its brief; one INSERT) and the "
        "handover records; commit; then pause as long as the batch took, so requests keep "
        "the CPUs they need. Readers never wait on those row locks (MVCC), and writers to "
        "one of those tickets wait at most one batch.",
        "",
        "Re-run: `.venv/bin/python -m bench.handover` (options: `--tickets`, `--read-rate`, "
        "`--batch-size`; HELPDESK_HANDOVER_BENCH_DATABASE_URL to point at another server).",
        "",
    ]
    REPORT.write_text("\n".join(lines))


def _background() -> list[str]:
    """Run at idle priority (SCHED_IDLE where chrt exists, else the lowest nice)."""
    chrt = shutil.which("chrt")
    return [chrt, "--idle", "0"] if chrt else ["nice", "-n", "19"]


@contextlib.contextmanager
def delivery_process(url: str, wanted: bool) -> Iterator[None]:
    """`helpdesk worker` in a process of its own at idle CPU priority: mail goes out
    while the handover runs, with whatever CPU the service leaves (on a two-core machine
    rendering 4,000 emails would otherwise take as much CPU as the handover itself)."""
    if not wanted:
        yield
        return
    data_dir = tempfile.mkdtemp(prefix="helpdesk-handover-mail-")
    env = {
        **os.environ,
        "HELPDESK_DATABASE_URL": url,
        "HELPDESK_DATA_DIR": data_dir,
        "HELPDESK_LOG_LEVEL": "warning",
    }
    process = subprocess.Popen(  # noqa: S603 - our own command line
        [*_background(), server.helpdesk_command(), "worker", "--count", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        shutil.rmtree(data_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.handover", description=__doc__)
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument(
        "--read-rate", type=float, default=100.0, help="GET /tickets/{id} per second"
    )
    parser.add_argument("--baseline-seconds", type=float, default=10.0)
    parser.add_argument("--batch-size", type=int, default=25)
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument("--handover-workers", type=int, default=3)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument(
        "--delivery",
        choices=["separate", "in-server"],
        default="separate",
        help="mail sent by a `helpdesk worker` process at idle CPU priority (default), "
        "or by the delivery workers inside the server processes",
    )
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a HELPDESK_* setting for the server, e.g. HELPDESK_NOTIFICATION_WORKERS=0",
    )
    parser.add_argument("--mail-timeout", type=float, default=300.0, metavar="SECONDS")
    parser.add_argument("--quiet-wait", type=float, default=600.0, metavar="SECONDS")
    parser.add_argument("--quiet-threshold", type=float, default=0.25, metavar="SHARE")
    parser.add_argument("--no-report", action="store_true", help="print, do not write HANDOVER.md")
    args = parser.parse_args(argv)

    url = database_url()
    print(f"database: {db.database_name(url)}")
    asyncio.run(db.ensure_database(url))
    server.migrate(url)
    asyncio.run(reset(url))
    admin_token = server.create_admin(url, f"admin-{int(time.time())}@bench.example.com", "Admin")
    env = {
        **SERVER_ENV,
        "HELPDESK_CONTINUITY_BATCH_SIZE": str(args.batch_size),
        "HELPDESK_CONTINUITY_WORKERS": str(args.handover_workers),
        **dict(item.split("=", 1) for item in args.server_env),
    }
    if args.delivery == "separate":
        env["HELPDESK_NOTIFICATION_WORKERS"] = "0"
    with (
        server.Server(url, port=args.port, workers=args.workers, env=env) as app_server,
        delivery_process(url, args.delivery == "separate"),
    ):
        result = asyncio.run(run(args, app_server.base_url, admin_token, url))
    during, base = result["during"], result["baseline"]
    print(
        f"handed over {result['tickets'] - result['left_with_marco']}/{result['tickets']} in "
        f"{result['handover_seconds']:.1f} s; GET p99 {during['p99']:.1f} ms during "
        f"(baseline {base['p99']:.1f} ms); written: {result['written']}; "
        f"load {result['load_before']:.1f} -> {result['load_after']:.1f}"
    )
    if not args.no_report:
        write_report(result, args)
        print(f"wrote {REPORT}")


if __name__ == "__main__":
    main()
