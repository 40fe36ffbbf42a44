"""The live channel under load: `python -m bench.live` (see bench/LIVE.md).

Creates (drops and re-creates) the database helpdesk_livebench, migrates it, makes an
admin, an agent and a customer, and runs `helpdesk serve --workers 2` (a fresh server
for each phase) on a loopback port. Phases:

- `latency`: one WebSocket client on queue:all; ~500 status changes one at a time, at
  idle. For each: t0 just before the POST, t1 when its response is back, t2 when the
  event frame arrived. Commit lies between t0 and t1, so t2 - t1 is a lower bound of
  commit-to-arrival (negative when the frame beat the HTTP response) and t2 - t0 an
  upper bound.
- `fanout`: N clients (default 2,000) in separate processes, all on queue:all, spread
  over both workers by the kernel; one status change per round; time from the write's
  response to the last client's arrival (CLOCK_MONOTONIC is shared by all processes).
- `memory`: N idle authenticated and subscribed connections (default 5,000); the VmRSS
  of the serve process and its children before and after. Once with permessage-deflate
  (what browsers and the websockets library negotiate) and once without.
- `slow`: clients that subscribe and then never read while a flood of events (status
  changes carrying long notes) flows; whether and how the server lets go of them, the
  workers' RSS meanwhile, the server-side socket's queues (ss), and what the client gets
  when it reads again.

Results are printed and written to var/bench/live-<time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import random
import re
import resource
import statistics
import string
import subprocess
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench.server import LOG_DIR, Server, create_admin, migrate

API = "/api/v1"
DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/helpdesk_livebench"
SERVER_ENV = {
    # The benchmark measures the live channel, not the rate limiter.
    "HELPDESK_RATE_LIMIT_PER_MINUTE": "100000000",
    "HELPDESK_RATE_LIMIT_BURST": "1000000",
}
PHASES = ("latency", "fanout", "memory", "slow")
NOTE_PATTERN = re.compile(r'"note":"([^" ]{1,40})')


# -- machine and processes -------------------------------------------------------------


def raise_fd_limit() -> tuple[int, int]:
    """Soft RLIMIT_NOFILE up to the hard limit (children, the server too, inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def rss_kb(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def descendants(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            found.append(int(child))
            found.extend(descendants(int(child)))
    return found


def server_processes(server: Server) -> dict[int, str]:
    """pid -> role for the serve process and everything under it."""
    if server.process is None:
        return {}
    roles = {server.process.pid: "serve"}
    for pid in descendants(server.process.pid):
        with contextlib.suppress(OSError):
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            roles[pid] = "resource_tracker" if "resource_tracker" in cmdline else "worker"
    return roles


def memory_of(server: Server) -> dict[str, Any]:
    per = {pid: (role, rss_kb(pid)) for pid, role in server_processes(server).items()}
    return {
        "total_mb": round(sum(kb for _, kb in per.values()) / 1024, 1),
        "processes": {
            str(pid): {"role": role, "rss_mb": round(kb / 1024, 1)}
            for pid, (role, kb) in per.items()
        },
    }


def socket_count(pid: int) -> int:
    count = 0
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:"):
                    count += 1
    return count


def worker_sockets(server: Server) -> dict[int, int]:
    return {
        pid: socket_count(pid) for pid, role in server_processes(server).items() if role == "worker"
    }


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary_ms(values_s: Sequence[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values_s]
    return {
        "n": len(ms),
        "min": round(min(ms), 2),
        "p50": round(percentile(ms, 50), 2),
        "p90": round(percentile(ms, 90), 2),
        "p99": round(percentile(ms, 99), 2),
        "max": round(max(ms), 2),
        "mean": round(statistics.fmean(ms), 2),
    }


# -- database, people, tickets ---------------------------------------------------------


def _libpq(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1]


async def reset_database(url: str) -> None:
    parts = urlsplit(_libpq(url))
    name = parts.path.lstrip("/")
    admin = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")))
    try:
        quoted = '"' + name.replace('"', '""') + '"'
        await admin.execute(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {quoted}")
    finally:
        await admin.close()


@dataclass(frozen=True)
class People:
    admin: str
    agent: str
    customer: str


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def make_people(base_url: str, admin_token: str) -> People:
    tokens: dict[str, str] = {}
    with httpx.Client(base_url=base_url, headers=bearer(admin_token), timeout=30) as http:
        for role in ("agent", "customer"):
            made = http.post(
                f"{API}/users",
                json={"email": f"live-{role}@example.com", "name": f"Live {role}", "role": role},
            )
            made.raise_for_status()
            issued = http.post(f"{API}/users/{made.json()['id']}/tokens", json={"name": "bench"})
            issued.raise_for_status()
            tokens[role] = issued.json()["token"]
    return People(admin_token, tokens["agent"], tokens["customer"])


@dataclass
class Ticket:
    id: int
    status: str = "new"

    def next_status(self) -> str:
        return "open" if self.status == "pending" else "pending"


async def file_ticket(http: httpx.AsyncClient, people: People, subject: str) -> Ticket:
    response = await http.post(
        f"{API}/tickets",
        json={"subject": subject, "description": "live channel benchmark"},
        headers=bearer(people.customer),
    )
    response.raise_for_status()
    return Ticket(response.json()["id"])


async def change_status(
    http: httpx.AsyncClient, people: People, ticket: Ticket, note: str
) -> httpx.Response:
    to = ticket.next_status()
    response = await http.post(
        f"{API}/tickets/{ticket.id}/status",
        json={"status": to, "note": note},
        headers=bearer(people.agent),
    )
    response.raise_for_status()
    ticket.status = to
    return response


def ws_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://") + f"{API}/ws"


async def subscribed_client(
    url: str, token: str, *, compression: str | None = "deflate", **options: Any
) -> ClientConnection:
    # Browsers never ping on their own; the server's keepalive pings are answered.
    options.setdefault("ping_interval", None)
    ws = await connect(url, compression=compression, open_timeout=60, **options)
    await ws.send(json.dumps({"type": "auth", "token": token}))
    ready = json.loads(await asyncio.wait_for(ws.recv(), 30))
    if ready.get("type") != "ready":
        raise RuntimeError(f"not ready: {ready}")
    await ws.send(json.dumps({"type": "subscribe", "topics": ["queue:all"]}))
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
        if frame.get("type") == "subscribed":
            return ws


def compression_option(name: str) -> str | None:
    return None if name == "none" else "deflate"


def server_env(compression: str) -> dict[str, str]:
    """The server offers permessage-deflate only when told to (off by default)."""
    return {"HELPDESK_WS_PER_MESSAGE_DEFLATE": "true" if compression == "deflate" else "false"}


# -- the bench run ---------------------------------------------------------------------


@dataclass
class Bench:
    url: str
    port: int
    people: People | None = None
    results: dict[str, Any] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def server(self, env: dict[str, str] | None = None) -> Server:
        return Server(self.url, port=self.port, workers=2, env={**SERVER_ENV, **(env or {})})

    def setup(self) -> None:
        asyncio.run(reset_database(self.url))
        migrate(self.url)
        admin = create_admin(self.url, "live-admin@example.com", "Live admin")
        with self.server():
            self.people = make_people(self.base_url, admin)

    def record(self, name: str, value: Any) -> None:
        self.results[name] = value
        print(f"\n== {name}\n{json.dumps(value, indent=2)}", flush=True)


# -- phase: latency at idle ------------------------------------------------------------


async def _latency(bench: Bench, changes: int, warmup: int, pause: float) -> dict[str, Any]:
    assert bench.people is not None
    people = bench.people
    loop = asyncio.get_running_loop()
    waiting: dict[str, asyncio.Future[tuple[float, float, dict[str, Any]]]] = {}
    # Our own LISTEN on the hub's channel: PostgreSQL sends the NOTIFY at commit, to the
    # hub and to us alike, so when it reaches us is the best view of commit time we have.
    notified: dict[int, float] = {}
    listener = await asyncpg.connect(_libpq(bench.url))
    await listener.add_listener(
        "ticket_events", lambda *a: notified.setdefault(int(a[3]), time.perf_counter())
    )
    ws = await subscribed_client(ws_url(bench.base_url), people.agent)

    async def read() -> None:
        async for message in ws:
            arrived, wall = time.perf_counter(), time.time()
            match = NOTE_PATTERN.search(message if isinstance(message, str) else "")
            if match and match.group(1) in waiting:
                future = waiting.pop(match.group(1))
                if not future.done():
                    future.set_result((arrived, wall, json.loads(message)["event"]))

    reader = asyncio.create_task(read())
    lower, upper, http_s, since_created, since_notify = [], [], [], [], []
    early = 0
    try:
        async with httpx.AsyncClient(base_url=bench.base_url, timeout=30) as http:
            ticket = await file_ticket(http, people, "latency")
            for n in range(warmup + changes):
                marker = f"lat-{n}"
                waiting[marker] = loop.create_future()
                future = waiting[marker]
                t0 = time.perf_counter()
                await change_status(http, people, ticket, marker)
                t1 = time.perf_counter()
                t2, wall, event = await asyncio.wait_for(future, 10)
                if n >= warmup:
                    lower.append(t2 - t1)
                    upper.append(t2 - t0)
                    http_s.append(t1 - t0)
                    created = datetime.fromisoformat(event["created_at"]).timestamp()
                    since_created.append(wall - created)
                    if event["id"] in notified:
                        since_notify.append(t2 - notified[event["id"]])
                    early += t2 < t1
                await asyncio.sleep(pause)
    finally:
        reader.cancel()
        await ws.close()
        await listener.close()
    return {
        "changes": changes,
        "arrival_minus_commit_notify_ms (best estimate)": summary_ms(since_notify),
        "arrival_minus_response_ms (lower bound)": summary_ms(lower),
        "arrival_minus_request_start_ms (upper bound)": summary_ms(upper),
        "http_round_trip_ms": summary_ms(http_s),
        "arrival_minus_event_created_at_ms": summary_ms(since_created),
        "frames_that_beat_the_http_response": early,
    }


def phase_latency(bench: Bench, args: argparse.Namespace) -> None:
    with bench.server():
        before = load_average()
        result = asyncio.run(_latency(bench, args.changes, 20, args.pause))
        result["load_average_before_after"] = [before, load_average()]
    bench.record("latency", result)


# -- client processes (fan-out and memory) ---------------------------------------------


def client_process(
    url: str, token: str, count: int, compression: str, pipe: Connection, parallel: int
) -> None:
    """Entry point of a client process: `count` subscribed connections, then commands."""
    raise_fd_limit()
    asyncio.run(_client_main(url, token, count, compression, pipe, parallel))


async def _client_main(
    url: str, token: str, count: int, compression: str, pipe: Connection, parallel: int
) -> None:
    loop = asyncio.get_running_loop()
    arrivals: dict[str, list[float]] = defaultdict(list)
    sockets: list[ClientConnection] = []
    errors: list[str] = []
    gate = asyncio.Semaphore(parallel)

    async def one() -> None:
        try:
            async with gate:
                ws = await subscribed_client(
                    url, token, compression=compression_option(compression)
                )
            sockets.append(ws)
        except Exception as exc:  # counted and reported
            errors.append(repr(exc)[:200])
            return
        with contextlib.suppress(ConnectionClosed):
            async for message in ws:
                arrived = time.monotonic()
                match = NOTE_PATTERN.search(message if isinstance(message, str) else "")
                if match:
                    arrivals[match.group(1)].append(arrived)

    started = time.monotonic()
    tasks = [asyncio.create_task(one()) for _ in range(count)]
    while len(sockets) + len(errors) < count:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    pipe.send(("ready", len(sockets), errors[:5], len(errors), time.monotonic() - started))
    while True:
        command = await loop.run_in_executor(None, pipe.recv)
        if command[0] == "expect":
            _, marker, timeout = command
            deadline = time.monotonic() + timeout
            while len(arrivals[marker]) < len(sockets) and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            pipe.send(("arrivals", marker, arrivals.pop(marker, [])))
        elif command[0] == "stop":
            await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            pipe.send(("stopped",))
            return


class ClientFleet:
    """Client processes holding `total` subscribed connections between them."""

    def __init__(
        self, base_url: str, token: str, total: int, processes: int, compression: str
    ) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipes: list[Connection] = []
        self.processes = []
        share, extra = divmod(total, processes)
        for index in range(processes):
            ours, theirs = context.Pipe()
            count = share + (1 if index < extra else 0)
            process = context.Process(
                target=client_process,
                args=(ws_url(base_url), token, count, compression, theirs, 50),
                daemon=True,
            )
            process.start()
            self.pipes.append(ours)
            self.processes.append(process)

    def wait_ready(self, timeout: float = 300) -> dict[str, Any]:
        connected, errors, samples, seconds = 0, 0, [], 0.0
        for pipe in self.pipes:
            if not pipe.poll(timeout):
                raise RuntimeError("client processes did not connect in time")
            _, ok, sample, failed, took = pipe.recv()
            connected += ok
            errors += failed
            samples += sample
            seconds = max(seconds, took)
        return {
            "connected": connected,
            "errors": errors,
            "error_samples": samples,
            "connect_s": round(seconds, 1),
        }

    def expect(self, marker: str, timeout: float) -> None:
        for pipe in self.pipes:
            pipe.send(("expect", marker, timeout))

    def arrivals(self, timeout: float) -> list[float]:
        times: list[float] = []
        for pipe in self.pipes:
            if not pipe.poll(timeout + 30):
                raise RuntimeError("a client process did not answer")
            times += pipe.recv()[2]
        return times

    def stop(self) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError):
                pipe.send(("stop",))
        for pipe in self.pipes:
            with contextlib.suppress(OSError, EOFError):
                pipe.poll(60) and pipe.recv()
        for process in self.processes:
            process.join(10)
            if process.is_alive():
                process.kill()
                process.join(5)


@contextlib.contextmanager
def fleet(
    base_url: str, token: str, total: int, processes: int, compression: str
) -> Iterator[ClientFleet]:
    clients = ClientFleet(base_url, token, total, processes, compression)
    try:
        yield clients
    finally:
        clients.stop()


async def _one_round(
    bench: Bench,
    http: httpx.AsyncClient,
    clients: ClientFleet,
    ticket: Ticket,
    marker: str,
    wait_s: float,
) -> dict[str, Any]:
    assert bench.people is not None
    clients.expect(marker, wait_s)
    t0 = time.monotonic()
    await change_status(http, bench.people, ticket, marker)
    t1 = time.monotonic()
    times = await asyncio.to_thread(clients.arrivals, wait_s)
    if not times:
        return {"received": 0}
    return {
        "received": len(times),
        "first_after_response_ms": round((min(times) - t1) * 1000, 1),
        "median_after_response_ms": round((statistics.median(times) - t1) * 1000, 1),
        "last_after_response_ms": round((max(times) - t1) * 1000, 1),
        "last_after_request_start_ms": round((max(times) - t0) * 1000, 1),
        "http_ms": round((t1 - t0) * 1000, 1),
    }


def run_rounds(
    bench: Bench, clients: ClientFleet, rounds: int, label: str, expected: int
) -> dict[str, Any]:
    async def all_rounds() -> list[dict[str, Any]]:
        assert bench.people is not None
        done = []
        async with httpx.AsyncClient(base_url=bench.base_url, timeout=30) as http:
            ticket = await file_ticket(http, bench.people, f"fan-out {label}")
            await asyncio.sleep(1)  # its ticket.created reaches everyone first
            for n in range(rounds):
                marker = f"fan-{label}-{n}"
                done.append(await _one_round(bench, http, clients, ticket, marker, 20))
                await asyncio.sleep(1)
        return done

    rounds_done = asyncio.run(all_rounds())
    last = [r["last_after_response_ms"] for r in rounds_done if r.get("received")]
    return {
        "rounds": rounds_done,
        "complete_rounds": sum(r.get("received") == expected for r in rounds_done),
        "last_arrival_after_response_ms": {
            "min": min(last, default=None),
            "median": statistics.median(last) if last else None,
            "max": max(last, default=None),
        },
    }


def phase_fanout(bench: Bench, args: argparse.Namespace) -> None:
    assert bench.people is not None
    out: dict[str, Any] = {}
    for compression in args.compression:
        with bench.server(server_env(compression)) as server:
            before_sockets = worker_sockets(server)
            with fleet(
                bench.base_url,
                bench.people.agent,
                args.fanout_clients,
                args.client_processes,
                compression,
            ) as clients:
                connected = clients.wait_ready()
                time.sleep(2)
                after_sockets = worker_sockets(server)
                load_before = load_average()
                result = run_rounds(
                    bench, clients, args.rounds, compression, connected["connected"]
                )
                result["connections"] = connected
                result["connections_per_worker"] = {
                    str(pid): after_sockets.get(pid, 0) - before_sockets.get(pid, 0)
                    for pid in after_sockets
                }
                result["load_average_before_after"] = [load_before, load_average()]
            out[f"compression={compression}"] = result
            time.sleep(3)
    bench.record("fanout", out)


# -- phase: memory of idle connections -------------------------------------------------


def phase_memory(bench: Bench, args: argparse.Namespace) -> None:
    assert bench.people is not None
    out: dict[str, Any] = {}
    for compression in args.compression:
        with bench.server(server_env(compression)) as server:
            # Warm both workers up: a few requests and a few sockets, then settle.
            with fleet(bench.base_url, bench.people.agent, 20, 1, compression) as warm:
                warm.wait_ready()
                run_rounds(bench, warm, 2, f"warm-{compression}", 20)
            time.sleep(3)
            baseline = memory_of(server)
            before_sockets = worker_sockets(server)
            with fleet(
                bench.base_url,
                bench.people.agent,
                args.memory_clients,
                args.client_processes,
                compression,
            ) as clients:
                connected = clients.wait_ready()
                time.sleep(5)
                loaded = memory_of(server)
                after_sockets = worker_sockets(server)
                # One event to all of them: they are really subscribed (and the cost).
                fan = run_rounds(bench, clients, 2, f"mem-{compression}", connected["connected"])
                after_event = memory_of(server)
            time.sleep(5)
            released = memory_of(server)
        delta = loaded["total_mb"] - baseline["total_mb"]
        out[f"compression={compression}"] = {
            "connections": connected,
            "connections_per_worker": {
                str(pid): after_sockets.get(pid, 0) - before_sockets.get(pid, 0)
                for pid in after_sockets
            },
            "rss_before": baseline,
            "rss_with_connections": loaded,
            "rss_after_two_events": after_event,
            "rss_after_disconnect": released,
            "delta_mb": round(delta, 1),
            "kb_per_connection": round(delta * 1024 / max(1, connected["connected"]), 1),
            "fanout_check": fan["last_arrival_after_response_ms"]
            | {"complete_rounds": fan["complete_rounds"]},
            "load_average": load_average(),
        }
    bench.record("memory", out)


# -- phase: a client that never reads --------------------------------------------------


def server_side_socket(port: int, client_port: int) -> dict[str, Any]:
    """ss's view of the server's end of the connection from `client_port`."""
    done = subprocess.run(  # noqa: S603 - fixed arguments
        ["ss", "-tnmiH", "state", "all", f"( sport = :{port} and dport = :{client_port} )"],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    text = " ".join(done.stdout.split())
    if not text:
        return {"present": False}
    fields = text.split()
    info: dict[str, Any] = {
        "present": True,
        "state": fields[0],
        "recv_q": int(fields[1]),
        "send_q": int(fields[2]),
    }
    if match := re.search(r"skmem:\(([^)]*)\)", text):
        info["skmem"] = match.group(1)
    return info


@dataclass
class Stalled:
    """A subscribed client that stopped reading; `resume` reads what is left."""

    ws: ClientConnection
    name: str

    @property
    def local_port(self) -> int:
        port: int = self.ws.local_address[1]
        return port

    async def resume(self, within: float = 60) -> dict[str, Any]:
        frames, last_note = 0, None
        started = time.monotonic()
        try:
            async with asyncio.timeout(within):
                async for message in self.ws:
                    frames += 1
                    match = NOTE_PATTERN.search(message if isinstance(message, str) else "")
                    if match:
                        last_note = match.group(1)
            outcome = "closed"
        except ConnectionClosed as closed:
            outcome = f"closed: {closed}"
        except TimeoutError:
            outcome = "still open after the timeout"
        rcvd = self.ws.protocol.close_rcvd
        return {
            "frames_read_after_resuming": frames,
            "last_event_marker": last_note,
            "outcome": outcome,
            "close_code_received": None if rcvd is None else rcvd.code,
            "close_code_seen": self.ws.close_code,
            "seconds_to_end": round(time.monotonic() - started, 2),
        }


async def _slow(bench: Bench, server: Server, args: argparse.Namespace) -> dict[str, Any]:
    assert bench.people is not None
    people = bench.people
    url = ws_url(bench.base_url)
    rng = random.Random(4408)
    note_tail = "".join(rng.choices(string.ascii_letters, k=max(0, args.note_chars - 20)))
    # Stalled clients as a browser would connect (permessage-deflate, default buffers);
    # the library stops reading its socket after max_queue (16) frames.
    early = Stalled(await subscribed_client(url, people.agent), "reads again 2 s after the flood")
    late = Stalled(await subscribed_client(url, people.agent), "reads again 30 s after the flood")
    canary = await subscribed_client(url, people.agent)
    canary_events = 0
    canary_bytes = 0

    async def read_canary() -> None:
        nonlocal canary_events, canary_bytes
        async for message in canary:
            if isinstance(message, str) and message.startswith('{"type":"event"'):
                canary_events += 1
                canary_bytes += len(message)

    canary_task = asyncio.create_task(read_canary())
    samples: list[dict[str, Any]] = []
    made = 0
    started = time.monotonic()

    async def sample_forever() -> None:
        while True:
            samples.append(
                {
                    "t_s": round(time.monotonic() - started, 1),
                    "events_made": made,
                    "rss_mb": memory_of(server)["total_mb"],
                    "early_client_server_side": server_side_socket(bench.port, early.local_port),
                    "late_client_server_side": server_side_socket(bench.port, late.local_port),
                }
            )
            await asyncio.sleep(1.0)

    sampler = asyncio.create_task(sample_forever())
    async with httpx.AsyncClient(base_url=bench.base_url, timeout=30) as http:
        tickets = [await file_ticket(http, people, f"flood {n}") for n in range(args.flood_tickets)]

        async def churn(ticket: Ticket) -> None:
            nonlocal made
            while made < args.slow_events and time.monotonic() - started < args.slow_seconds:
                await change_status(
                    http, people, ticket, f"slow-{made:06d} {note_tail}"[: args.note_chars]
                )
                made += 1

        await asyncio.gather(*(churn(t) for t in tickets))
    flood_s = time.monotonic() - started
    # Let the canary catch up; the hub has delivered everything once it has.
    deadline = time.monotonic() + 30
    while canary_events < made and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.1)
    await asyncio.sleep(2)
    sockets_at_rest = {
        "early": server_side_socket(bench.port, early.local_port),
        "late": server_side_socket(bench.port, late.local_port),
    }
    early_result = await early.resume()
    await asyncio.sleep(28)
    sockets_after_30s = {"late": server_side_socket(bench.port, late.local_port)}
    late_result = await late.resume()
    sampler.cancel()
    canary_task.cancel()
    await canary.close()
    rss = [s["rss_mb"] for s in samples]
    return {
        "events_made": made,
        "flood_seconds": round(flood_s, 1),
        "note_chars": args.note_chars,
        "canary_events": canary_events,
        "canary_mean_frame_bytes": round(canary_bytes / max(1, canary_events)),
        "server_rss_mb": {
            "first": rss[0] if rss else None,
            "max": max(rss, default=None),
            "last": rss[-1] if rss else None,
        },
        "server_side_sockets_2s_after_flood": sockets_at_rest,
        "late_client_server_side_socket_30s_after_flood": sockets_after_30s,
        "early": {"name": early.name} | early_result,
        "late": {"name": late.name} | late_result,
        "samples": samples,
    }


def phase_slow(bench: Bench, args: argparse.Namespace) -> None:
    with bench.server() as server:
        before = load_average()
        result = asyncio.run(_slow(bench, server, args))
        result["load_average_before_after"] = [before, load_average()]
    bench.record("slow", result)


# -- main ------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.live", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--database-url", default=os.environ.get("HELPDESK_LIVEBENCH_DATABASE_URL", DEFAULT_URL)
    )
    parser.add_argument("--port", type=int, default=8871)
    parser.add_argument("--phases", default=",".join(PHASES), help="comma-separated: %(default)s")
    parser.add_argument("--changes", type=int, default=500, help="latency: status changes")
    parser.add_argument(
        "--pause", type=float, default=0.02, help="latency: seconds between changes"
    )
    parser.add_argument("--fanout-clients", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--memory-clients", type=int, default=5000)
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument(
        "--compression", default="deflate,none", help="fan-out and memory: deflate and/or none"
    )
    parser.add_argument("--slow-events", type=int, default=4000, help="slow: events in the flood")
    parser.add_argument("--slow-seconds", type=float, default=120, help="slow: longest flood")
    parser.add_argument("--note-chars", type=int, default=4000, help="slow: note length per event")
    parser.add_argument(
        "--flood-tickets", type=int, default=8, help="slow: tickets changed in parallel"
    )
    args = parser.parse_args()
    args.compression = [c for c in args.compression.split(",") if c]
    phases = [p for p in args.phases.split(",") if p]
    unknown = set(phases) - set(PHASES)
    if unknown:
        parser.error(f"unknown phases: {', '.join(sorted(unknown))}")

    limits = raise_fd_limit()
    bench = Bench(args.database_url, args.port)
    bench.results["machine"] = {
        "nproc": os.cpu_count(),
        "load_average_at_start": load_average(),
        "nofile_limit": list(limits),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    print(json.dumps(bench.results["machine"]), flush=True)
    bench.setup()
    runners = {
        "latency": phase_latency,
        "fanout": phase_fanout,
        "memory": phase_memory,
        "slow": phase_slow,
    }
    for phase in phases:
        runners[phase](bench, args)
    bench.results["machine"]["load_average_at_end"] = load_average()
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    out = LOG_DIR / f"live-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(bench.results, indent=2))
    print(f"\nresults: {out}")


if __name__ == "__main__":
    main()
