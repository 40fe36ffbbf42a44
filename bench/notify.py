"""`python -m bench.notify`: how fast committed notifications reach a mail server.

Against real processes (`helpdesk serve` for the API, `helpdesk worker` for delivery)
and a real SMTP server (aiosmtpd, in this process, on a free loopback port, recording
when each message was accepted):

1. creates (and migrates) its own database, `helpdesk_notify_bench` next to the
   benchmark database (HELPDESK_NOTIFY_BENCH_DATABASE_URL names another), and empties it;
2. throughput: with no worker running, files tickets through the API (each gets an
   acknowledgement and a public reply, coalesced into one email as in production), then
   copies those outbox rows in SQL until N emails are waiting (each copy with its own
   Message-ID); starts one `helpdesk worker` with C concurrent senders and measures the
   emails per second the SMTP server accepts, the worker's CPU per email and the number
   of SMTP connections it opened;
3. latency: with the queue empty and the worker idle, files one ticket at a time,
   spaced out, and measures the time from the API call to the SMTP server accepting the
   acknowledgement: from the response (after the commit; a lower bound) and from the
   request (an upper bound);
4. writes the figures into bench/NOTIFY.md (or only prints them with --no-report).

Targets (issue 5): >= 200 emails/s with 4 concurrent senders on this 2-core machine;
commit -> SMTP acceptance p99 < 1 s with an empty queue.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller

from bench import db, server
from bench.handover import _cpu_times, busy_share, machine, percentile, reset

API = "/api/v1"
REPORT = Path(__file__).resolve().parent / "NOTIFY.md"
TARGET_RATE = 200.0
TARGET_P99_MS = 1000.0
SERVER_ENV = {
    "HELPDESK_RATE_LIMIT_PER_MINUTE": "100000000",
    "HELPDESK_RATE_LIMIT_BURST": "1000000",
    # Delivery is measured in the worker process alone.
    "HELPDESK_NOTIFICATION_WORKERS": "0",
}
_TICKET_HEADER = re.compile(rb"^X-Helpdesk-Ticket: *(\d+)", re.MULTILINE | re.IGNORECASE)


def database_url() -> str:
    configured = os.environ.get("HELPDESK_NOTIFY_BENCH_DATABASE_URL")
    if configured:
        return configured
    return db.with_database(db.bench_database_url(), "helpdesk_notify_bench")


# The SMTP server ------------------------------------------------------------------------


@dataclass
class Arrivals:
    """What the SMTP server accepted and when (time.time(), taken in its own thread)."""

    times: list[float] = field(default_factory=list)
    by_ticket: dict[int, list[float]] = field(default_factory=dict)
    sessions: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self) -> int:
        with self.lock:
            return len(self.times)


class RecordingHandler:
    def __init__(self, arrivals: Arrivals) -> None:
        self.arrivals = arrivals

    async def handle_EHLO(  # noqa: N802 - aiosmtpd's hook name
        self, _server: Any, session: Any, _envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        with self.arrivals.lock:
            self.arrivals.sessions += 1
        return responses

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802
        now = time.time()
        content: bytes = envelope.content
        head = content.split(b"\r\n\r\n", 1)[0]
        match = _TICKET_HEADER.search(head)
        with self.arrivals.lock:
            self.arrivals.times.append(now)
            if match:
                self.arrivals.by_ticket.setdefault(int(match.group(1)), []).append(now)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def smtp_server(arrivals: Arrivals) -> Iterator[int]:
    port = free_port()
    controller = Controller(RecordingHandler(arrivals), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


# The worker process ---------------------------------------------------------------------


class WorkerProcess:
    """`helpdesk worker` in its own process group, stopped on exit."""

    def __init__(self, url: str, smtp_port: int, concurrency: int, extra: dict[str, str]) -> None:
        self.data_dir = tempfile.mkdtemp(prefix="helpdesk-notify-bench-")
        server.LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = server.LOG_DIR / "notify-worker.log"
        env = {
            **os.environ,
            "HELPDESK_DATABASE_URL": url,
            "HELPDESK_DATA_DIR": self.data_dir,
            "HELPDESK_LOG_LEVEL": "warning",
            "HELPDESK_SMTP_HOST": "127.0.0.1",
            "HELPDESK_SMTP_PORT": str(smtp_port),
            "HELPDESK_SMTP_SECURITY": "none",
            "HELPDESK_NOTIFICATION_CONCURRENCY": str(concurrency),
            **extra,
        }
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own command line
                [server.helpdesk_command(), "worker", "--count", "1"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started = time.time()

    def cpu_seconds(self) -> float:
        """User + system CPU of the worker process so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        shutil.rmtree(self.data_dir, ignore_errors=True)


# Filling the outbox ---------------------------------------------------------------------


async def _ok(response: httpx.Response, status: int = 200) -> Any:
    if response.status_code != status:
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.text}")
    return response.json()


async def make_agent(http: httpx.AsyncClient, admin: dict[str, str], stamp: int) -> dict[str, str]:
    body = {"email": f"agent-{stamp}@bench.example.com", "name": "Giulia", "role": "agent"}
    agent = await _ok(await http.post(f"{API}/users", json=body, headers=admin), 201)
    token = await _ok(
        await http.post(f"{API}/users/{agent['id']}/tokens", json={"name": "b"}, headers=admin),
        201,
    )
    return {"Authorization": f"Bearer {token['token']}"}


async def file_ticket(http: httpx.AsyncClient, agent: dict[str, str], label: str) -> int:
    body = {
        "subject": f"The printer on floor 3 jams ({label})",
        "description": "Every second page jams since Monday; we restarted it twice.",
        "requester": {"email": f"customer-{label}@customers.example", "name": "Carla Rossi"},
    }
    ticket = await _ok(await http.post(f"{API}/tickets", json=body, headers=agent), 201)
    return int(ticket["id"])


async def fill_outbox(
    base_url: str, agent: dict[str, str], url: str, tickets: int, emails: int, stamp: int
) -> int:
    """`tickets` real tickets with a reply each, then copies of their emails up to `emails`."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        slots = asyncio.Semaphore(8)

        async def one(index: int) -> None:
            async with slots:
                ticket_id = await file_ticket(http, agent, f"{stamp}-{index}")
                reply = {
                    "body": "Thank you. Could you send us the model printed on the label?\n"
                    "It is under the paper tray."
                }
                await _ok(
                    await http.post(
                        f"{API}/tickets/{ticket_id}/messages", json=reply, headers=agent
                    ),
                    201,
                )

        await asyncio.gather(*(one(i) for i in range(tickets)))
    connection = await db.connect(url)
    try:
        real = int(await connection.fetchval("SELECT count(*) FROM notification_deliveries"))
        copies = max(0, emails - real)
        # Same recipients, payloads and tickets; a fresh Message-ID each.
        await connection.execute(
            """
            INSERT INTO notification_deliveries (ticket_id, recipient_id, channel, event_ids,
                payload, status, attempts, max_attempts, next_attempt_at, idempotency_key,
                created_at, updated_at)
            SELECT d.ticket_id, d.recipient_id, d.channel, d.event_ids, d.payload, 'pending',
                0, d.max_attempts, now(), '<copy' || n || '.' || d.id || '@bench.localhost>',
                now(), now()
            FROM generate_series(1, $1) AS n
            JOIN LATERAL (
                SELECT * FROM notification_deliveries
                WHERE channel = 'email' AND idempotency_key NOT LIKE '<copy%'
                ORDER BY id OFFSET (n - 1) % $2 LIMIT 1
            ) AS d ON true
            """,
            copies,
            real,
        )
        await connection.execute("UPDATE notification_deliveries SET next_attempt_at = now()")
        await connection.execute("VACUUM ANALYZE notification_deliveries")
        return int(
            await connection.fetchval(
                "SELECT count(*) FROM notification_deliveries WHERE status = 'pending'"
            )
        )
    finally:
        await connection.close()


async def statuses(url: str) -> dict[str, int]:
    connection = await db.connect(url)
    try:
        rows = await connection.fetch(
            "SELECT status::text, count(*) FROM notification_deliveries GROUP BY status"
        )
        return {row[0]: int(row[1]) for row in rows}
    finally:
        await connection.close()


# The two measurements -------------------------------------------------------------------


async def throughput(
    args: argparse.Namespace, url: str, arrivals: Arrivals, worker_factory: Any
) -> dict[str, Any]:
    busy = await busy_share()
    load = os.getloadavg()[0]
    waiting = await statuses(url)
    expected = waiting.get("pending", 0)
    before = arrivals.count()
    sessions_before = arrivals.sessions
    machine_before = _cpu_times()
    worker: WorkerProcess = worker_factory()
    started = time.time()
    cpu_at_end = 0.0
    cpu_at_first: float | None = None
    count_at_first = 0
    while True:
        await asyncio.sleep(0.25)
        if cpu_at_first is None and arrivals.count() > before:
            # Start-up (imports, connections) is not the cost of an email.
            cpu_at_first, count_at_first = worker.cpu_seconds(), arrivals.count() - before
        if arrivals.count() - before >= expected:
            cpu_at_end = worker.cpu_seconds()
            break
        if worker.process.poll() is not None:
            raise RuntimeError(f"the worker exited; see {worker.log_path}")
        if time.time() - started > args.timeout:
            cpu_at_end = worker.cpu_seconds()
            break
    machine_after = _cpu_times()
    with arrivals.lock:
        times = sorted(arrivals.times[before:])
    done = time.time()
    ticks = os.sysconf("SC_CLK_TCK")
    machine_seconds = (machine_after[1] - machine_before[1]) / ticks
    busy_during = (machine_after[0] - machine_before[0]) / max(
        1, machine_after[1] - machine_before[1]
    )
    # Outcomes are recorded after acceptance: give the worker a moment to write them.
    final: dict[str, int] = {}
    for _ in range(40):
        final = await statuses(url)
        if not final.get("pending") and not final.get("sending"):
            break
        await asyncio.sleep(0.25)
    accepted = len(times)
    window = times[-1] - times[0] if accepted > 1 else float("nan")
    return {
        "expected": expected,
        "accepted": accepted,
        "rate_steady": (accepted - 1) / window if accepted > 1 else 0.0,
        "rate_from_start": accepted / max(1e-9, (times[-1] if times else done) - started),
        "first_after_s": (times[0] - started) if times else float("nan"),
        "seconds": window,
        "cpu_ms_per_email": 1000
        * (cpu_at_end - (cpu_at_first or 0.0))
        / max(1, accepted - (count_at_first if cpu_at_first is not None else 0)),
        "smtp_sessions": arrivals.sessions - sessions_before,
        "statuses": final,
        "busy_before": busy,
        "busy_during": busy_during,
        "worker_share": cpu_at_end / max(1e-9, machine_seconds),
        "load_before": load,
        "load_after": os.getloadavg()[0],
        "worker": worker,
    }


async def latency(
    args: argparse.Namespace, base_url: str, agent: dict[str, str], arrivals: Arrivals
) -> dict[str, Any]:
    busy = await busy_share()
    load = os.getloadavg()[0]
    samples: list[tuple[int, float, float]] = []  # ticket, request sent, response received
    stamp = int(time.time())
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        await file_ticket(http, agent, f"warm-{stamp}")  # connections and caches
        await asyncio.sleep(1.0)
        for index in range(args.changes):
            sent = time.time()
            ticket_id = await file_ticket(http, agent, f"lat-{stamp}-{index}")
            samples.append((ticket_id, sent, time.time()))
            await asyncio.sleep(args.spacing)
    deadline = time.time() + 30
    while time.time() < deadline:
        with arrivals.lock:
            if all(t in arrivals.by_ticket for t, _, _ in samples):
                break
        await asyncio.sleep(0.2)
    from_response: list[float] = []
    from_request: list[float] = []
    missing = 0
    with arrivals.lock:
        for ticket_id, sent, answered in samples:
            arrived = arrivals.by_ticket.get(ticket_id)
            if not arrived:
                missing += 1
                continue
            from_response.append(max(0.0, arrived[0] - answered) * 1000)
            from_request.append((arrived[0] - sent) * 1000)
    return {
        "changes": args.changes,
        "spacing": args.spacing,
        "missing": missing,
        "from_response": _stats(from_response),
        "from_request": _stats(from_request),
        "busy_before": busy,
        "load_before": load,
        "load_after": os.getloadavg()[0],
    }


def _stats(values: list[float]) -> dict[str, float]:
    return {
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "max": max(values, default=float("nan")),
    }


# Reporting ------------------------------------------------------------------------------


def _commit() -> str:
    def git(*words: str) -> str:
        return subprocess.run(  # noqa: S603
            ["git", *words],  # noqa: S607
            capture_output=True,
            text=True,
            check=False,
            cwd=server.REPO,
        ).stdout.strip()

    return git("rev-parse", "--short", "HEAD") + ("-dirty" if git("status", "--porcelain") else "")


def summary_lines(rate: dict[str, Any], lat: dict[str, Any], args: argparse.Namespace) -> list[str]:
    fr, fq = lat["from_response"], lat["from_request"]
    rate_met = rate["rate_steady"] >= TARGET_RATE and rate["accepted"] >= rate["expected"]
    lat_met = fr["p99"] < TARGET_P99_MS and lat["missing"] == 0
    return [
        f"- Run: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}, commit `{_commit()}`, "
        f"on {machine()}.",
        f"- Command: `.venv/bin/python -m bench.notify --emails {args.emails} --tickets "
        f"{args.tickets} --concurrency {args.concurrency} --changes {args.changes}`",
        "",
        "| | value | target |",
        "|---|---|---|",
        f"| emails accepted by SMTP, first to last | **{rate['rate_steady']:,.0f}/s** "
        f"({rate['accepted']:,} of {rate['expected']:,} in {rate['seconds']:.1f} s) | "
        f">= {TARGET_RATE:.0f}/s {'(met)' if rate_met else '(NOT met)'} |",
        f"| the same, from the worker's start (process start-up included) | "
        f"{rate['rate_from_start']:,.0f}/s; first email after {rate['first_after_s']:.2f} s | |",
        "| worker CPU per email (user + system, after the first email) | "
        f"{rate['cpu_ms_per_email']:.2f} ms | |",
        f"| SMTP connections opened | {rate['smtp_sessions']:,} | |",
        f"| outbox afterwards | {rate['statuses']} | all delivered |",
        f"| commit -> SMTP acceptance, from the response (ms) | p50 {fr['p50']:.0f}, p95 "
        f"{fr['p95']:.0f}, **p99 {fr['p99']:.0f}**, max {fr['max']:.0f} | p99 < "
        f"{TARGET_P99_MS:.0f} ms {'(met)' if lat_met else '(NOT met)'} |",
        f"| the same, from the request (ms; includes the API call) | p50 {fq['p50']:.0f}, "
        f"p95 {fq['p95']:.0f}, p99 {fq['p99']:.0f}, max {fq['max']:.0f} | |",
        f"| latency samples / never arrived | {lat['changes']} one every "
        f"{lat['spacing']:.2f} s / {lat['missing']} | 0 missing |",
        "",
        f"Contention: before the throughput run the CPUs were {rate['busy_before']:.0%} busy; "
        f"during it {rate['busy_during']:.0%} (the worker itself {rate['worker_share']:.0%} "
        "of the two CPUs; the rest is PostgreSQL, this process's SMTP server and whatever "
        f"else ran), 1-min load {rate['load_before']:.1f} -> {rate['load_after']:.1f}; before the "
        f"latency run {lat['busy_before']:.0%} (load {lat['load_before']:.1f} -> "
        f"{lat['load_after']:.1f}). The machine is shared with other sessions' tests and "
        "benchmarks; CPU per email does not depend on that share, the rates do.",
    ]


def write_report(lines: list[str]) -> None:
    text = REPORT.read_text() if REPORT.exists() else ""
    marker = "<!-- latest run -->"
    block = "\n".join([marker, *lines, marker])
    if text.count(marker) == 2:
        head, _, rest = text.partition(marker)
        _, _, tail = rest.partition(marker)
        REPORT.write_text(head + block + tail)
    else:
        REPORT.write_text(text + "\n" + block + "\n")


async def run(args: argparse.Namespace, url: str, admin_token: str) -> None:
    arrivals = Arrivals()
    admin = {"Authorization": f"Bearer {admin_token}"}
    stamp = int(time.time())
    with smtp_server(arrivals) as smtp_port:
        env = {**SERVER_ENV, **dict(item.split("=", 1) for item in args.server_env)}
        with server.Server(url, port=args.port, workers=1, env=env) as api:
            async with httpx.AsyncClient(base_url=api.base_url, timeout=30) as http:
                agent = await make_agent(http, admin, stamp)
            waiting = await fill_outbox(api.base_url, agent, url, args.tickets, args.emails, stamp)
            print(f"outbox: {waiting:,} emails waiting; starting the worker")
            extra = dict(item.split("=", 1) for item in args.worker_env)

            def start() -> WorkerProcess:
                return WorkerProcess(url, smtp_port, args.concurrency, extra)

            rate = await throughput(args, url, arrivals, start)
            worker: WorkerProcess = rate.pop("worker")
            try:
                print(
                    f"throughput: {rate['rate_steady']:,.0f} emails/s "
                    f"({rate['accepted']:,}/{rate['expected']:,}), "
                    f"{rate['cpu_ms_per_email']:.2f} ms CPU/email, "
                    f"{rate['smtp_sessions']} SMTP connections, {rate['statuses']}"
                )
                lat = await latency(args, api.base_url, agent, arrivals)
            finally:
                worker.stop()
    fr = lat["from_response"]
    print(
        f"latency: p50 {fr['p50']:.0f} ms, p95 {fr['p95']:.0f} ms, p99 {fr['p99']:.0f} ms, "
        f"max {fr['max']:.0f} ms, missing {lat['missing']}"
    )
    lines = summary_lines(rate, lat, args)
    print("\n".join(lines))
    if not args.no_report:
        write_report(lines)
        print(f"wrote {REPORT}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.notify", description=__doc__)
    parser.add_argument("--emails", type=int, default=5000, help="emails in the outbox")
    parser.add_argument("--tickets", type=int, default=200, help="real tickets behind them")
    parser.add_argument("--concurrency", type=int, default=4, help="senders in the worker")
    parser.add_argument("--changes", type=int, default=200, help="latency samples")
    parser.add_argument("--spacing", type=float, default=0.15, help="seconds between them")
    parser.add_argument("--port", type=int, default=8767)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--worker-env", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--no-report", action="store_true", help="print, do not write NOTIFY.md")
    args = parser.parse_args(argv)

    url = database_url()
    print(f"database: {db.database_name(url)}")
    asyncio.run(db.ensure_database(url))
    server.migrate(url)
    asyncio.run(reset(url))
    admin_token = server.create_admin(url, f"admin-{int(time.time())}@bench.example.com", "Admin")
    asyncio.run(run(args, url, admin_token))


if __name__ == "__main__":
    main()
