"""SMS and connector messages under load: POST /inbound/sms/twilio (signed) and
POST /inbound/messages, end to end.

`python -m bench.channels_in` creates (or empties) its own database, starts `helpdesk
serve --workers 2` with an SMS auth token and a public base URL (so every text is
signature-checked against the URL a provider behind a proxy would have signed), and
runs, one after the other, 16 clients (by default) for 30 s each:

- **sms**: texts from 3,000 numbers: a number's first text opens a ticket (a new
  customer, known by the number), its next ones go on that ticket; 2% are STOP/START.
- **sms-threads**: the same from 200 numbers: mostly texts added to open tickets.
- **messages**: connector posts in 3,000 threads of 3,000 handles: the first post of a
  thread opens a ticket, the rest are added to it.

Each request is the whole intake: signature (SMS), idempotency key, raw bytes kept,
identity lookup (or a new customer), the thread, the ticket or message with its events,
the reactions and outbox rows, the commit. Results go to bench/README.md (the section
this script owns), unless --no-report.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from app.inbound.twilio import signature
from bench import db, server
from bench.http_load import percentiles

REPORT = Path(__file__).parent / "README.md"
START, END = "<!-- channels-in:start -->", "<!-- channels-in:end -->"
AUTH_TOKEN = "bench-auth-token-0123456789abcdef"  # noqa: S105 - the benchmark's own
PUBLIC_BASE = "https://desk.bench.example"
SMS_PATH = "/api/v1/inbound/sms/twilio"
DESK = "+15005550006"
TARGET_PER_SECOND, TARGET_P99_MS = 150.0, 200.0
_ids = itertools.count(1)

Request = tuple[str, str, dict[str, str] | None, Any]  # kind, path, form, json


def sms_request(rng: random.Random, numbers: int) -> Request:
    number = f"+1415{rng.randrange(numbers):07d}"
    roll = rng.random()
    body = "STOP" if roll < 0.01 else "START" if roll < 0.02 else f"Text {rng.random():.6f}"
    form = {
        "MessageSid": f"SM{os.getpid()}{next(_ids):024d}",
        "AccountSid": "ACbench",
        "From": number,
        "To": DESK,
        "Body": body,
        "NumMedia": "0",
    }
    return "sms", SMS_PATH, form, None


def message_request(rng: random.Random, threads: int) -> Request:
    thread = rng.randrange(threads)
    post = {
        "source": "whatsapp",
        "thread_ref": f"chat-{thread}",
        "external_id": f"wamid.{os.getpid()}.{next(_ids)}",
        "sender": {"handle": f"+4930{thread:07d}", "name": f"Customer {thread}"},
        "body": f"Message {rng.random():.6f}",
        "sent_at": datetime.now(UTC).isoformat(),
    }
    return "message", "/api/v1/inbound/messages", None, post


async def run(
    base_url: str, token: str, clients: int, seconds: float, make: Callable[[], Request]
) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    outcomes: Counter[str] = Counter()
    deadline = 0.0
    auth = {"Authorization": f"Bearer {token}"}

    async def send(http: httpx.AsyncClient) -> None:
        _kind, path, form, body = make()
        if form is not None:
            signed = signature(AUTH_TOKEN, PUBLIC_BASE + path, form.items())
            started = time.perf_counter()
            response = await http.post(path, data=form, headers={"X-Twilio-Signature": signed})
            outcome = response.headers.get("X-Intake-Outcome", "?")
        else:
            started = time.perf_counter()
            response = await http.post(path, json=body, headers=auth)
            outcome = response.json().get("outcome", "?") if response.status_code == 202 else "?"
        latencies.append((time.perf_counter() - started) * 1000)
        statuses[response.status_code] += 1
        outcomes[outcome] += 1

    async def client(http: httpx.AsyncClient) -> None:
        while time.monotonic() < deadline:
            await send(http)

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as http:
        deadline = time.monotonic() + 3  # warm up the workers and their caches
        await asyncio.gather(*(client(http) for _ in range(clients)))
        latencies.clear()
        statuses.clear()
        outcomes.clear()
        started = time.monotonic()
        deadline = started + seconds
        await asyncio.gather(*(client(http) for _ in range(clients)))
        elapsed = time.monotonic() - started
    return {
        "requests": len(latencies),
        "per_second": len(latencies) / elapsed,
        "latency": percentiles(latencies),
        "statuses": dict(statuses),
        "outcomes": dict(outcomes),
    }


async def _fresh_database(url: str) -> None:
    await db.ensure_database(url)
    connection = await asyncpg.connect(db.with_database(url, "postgres"))
    try:
        name = db.database_name(url)
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


def _row(name: str, result: dict[str, Any]) -> str:
    lat = result["latency"]
    five = sum(v for k, v in result["statuses"].items() if k >= 500)
    met = result["per_second"] >= TARGET_PER_SECOND and lat["p99"] < TARGET_P99_MS
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(result["outcomes"].items()))
    return (
        f"| {name} | **{result['per_second']:.0f}/s** ({result['requests']}) | "
        f"{lat['p50']:.0f} | **{lat['p99']:.0f}** | {lat['max']:.0f} | {outcomes} | "
        f"{five} | {'yes' if met else 'no'} |"
    )


def _report(results: dict[str, dict[str, Any]], args: argparse.Namespace, load: str) -> str:
    rows = "\n".join(_row(name, result) for name, result in results.items())
    return f"""{START}
## Channels in: SMS and connector messages

`python -m bench.channels_in` ([channels_in.py](channels_in.py)): its own database,
`helpdesk serve --workers 2` (delivery workers in its background process), {args.clients}
clients for {args.seconds:g} s per scenario, each request the whole intake (signature,
idempotency key, raw bytes kept, identity, thread, ticket or message and its events,
reactions, outbox rows, commit). Target: {TARGET_PER_SECOND:.0f}/s with p99 under
{TARGET_P99_MS:.0f} ms at 16 clients. Machine: 2 cores, **shared with other engineers'
test runs** (load average before / after: {load}); PostgreSQL and the load generator on
the same machine. Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.

| scenario | throughput | p50 ms | p99 ms | max ms | outcomes | 5xx | target met |
|---|---|---|---|---|---|---|---|
{rows}
{END}"""


def _write(section: str) -> None:
    text = REPORT.read_text()
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    REPORT.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--only", choices=["sms", "sms-threads", "messages"])
    parser.add_argument("--no-report", action="store_true")
    args = parser.parse_args()
    url = db.with_database(db.bench_database_url(), "helpdesk_bench_channels_in").replace(
        "postgresql://", "postgresql+asyncpg://"
    )
    asyncio.run(_fresh_database(url))
    server.migrate(url)
    token = server.create_admin(url, "bench@example.com", "Bench")
    env = {
        "HELPDESK_RATE_LIMIT_PER_MINUTE": "1000000",
        "HELPDESK_RATE_LIMIT_BURST": "100000",
        "HELPDESK_SMS_AUTH_TOKEN": AUTH_TOKEN,
        "HELPDESK_PUBLIC_BASE_URL": PUBLIC_BASE,
        "HELPDESK_INBOUND_IMAP": "false",
        # The benchmark's PostgreSQL is shared (max_connections 100, most of them taken
        # by other test runs): a pool of 8 per worker is enough for 16 clients on 2 cores.
        "HELPDESK_DB_POOL_SIZE": os.environ.get("HELPDESK_DB_POOL_SIZE", "8"),
    }
    before = f"{os.getloadavg()[0]:.1f}"
    rng = random.Random(16)
    scenarios: dict[str, Callable[[], Request]] = {
        "sms": lambda: sms_request(rng, 3000),
        "sms-threads": lambda: sms_request(rng, 200),
        "messages": lambda: message_request(rng, 3000),
    }
    results: dict[str, dict[str, Any]] = {}
    with server.Server(url, port=18953, workers=2, env=env) as running:
        for name, make in scenarios.items():
            if args.only and args.only != name:
                continue
            results[name] = asyncio.run(
                run(running.base_url, token, args.clients, args.seconds, make)
            )
    section = _report(results, args, f"{before} / {os.getloadavg()[0]:.1f}")
    print(section)
    if not args.no_report:
        _write(section)


if __name__ == "__main__":
    main()
