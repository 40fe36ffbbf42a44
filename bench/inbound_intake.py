"""Email intake under load: POST /inbound/email and the SMTP receiver, end to end.

`python -m bench.inbound_intake` creates (or empties) its own database, starts
`helpdesk serve --workers 2` with the SMTP receiver on, and runs:

- **http**: 16 clients posting a realistic mix for a while: new tickets (60%), replies
  to tickets already made, by their requesters (25%, threaded by In-Reply-To or the
  subject tag), mails with a 40-200 KB attachment (10%), out-of-office answers (5%).
  Throughput, latency percentiles, the outcomes, and any 5xx.
- **smtp**: 8 SMTP connections delivering mail; every 250 must be a committed record
  (the count of 250s is checked against the intake table afterwards).

Results go to bench/INBOUND.md (the section this script owns), unless --no-report.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import socket
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

import aiosmtplib
import asyncpg
import httpx

from bench import db, server
from bench.http_load import percentiles

REPORT = Path(__file__).parent / "INBOUND.md"
START, END = "<!-- intake:start -->", "<!-- intake:end -->"
WORDS = (
    "printer",
    "invoice",
    "login",
    "password",
    "vpn",
    "order",
    "delivery",
    "refund",
    "screen",
    "broken",
    "error",
    "update",
    "account",
    "email",
    "network",
    "slow",
    "crash",
    "report",
    "billing",
    "contract",
    "urgent",
    "please",
    "help",
    "again",
)


def _text(rng: random.Random, words: int) -> str:
    lines = []
    for _ in range(max(1, words // 12)):
        lines.append(" ".join(rng.choice(WORDS) for _ in range(12)).capitalize() + ".")
    return "\n".join(lines)


@dataclass
class Mix:
    rng: random.Random
    tickets: list[tuple[int, str]] = field(default_factory=list)  # (ticket id, sender)
    made: int = 0

    def next(self) -> tuple[str, bytes]:
        roll = self.rng.random()
        self.made += 1
        if self.tickets and roll < 0.25:
            ticket_id, sender = self.rng.choice(self.tickets)
            return "reply", _mail(
                sender,
                f"Re: [#{ticket_id}] Still a problem",
                _text(self.rng, 40) + "\n\n> earlier message\n> quoted",
                self.rng,
            )
        if self.tickets and roll < 0.30:
            ticket_id, sender = self.rng.choice(self.tickets)
            return "auto_reply", _mail(
                sender,
                f"Out of office: Re: [#{ticket_id}] Your request",
                "I am out of the office until Monday.",
                self.rng,
                headers={"Auto-Submitted": "auto-replied"},
            )
        sender = f"customer{self.rng.randrange(100_000)}@example.com"
        if roll < 0.40:
            size = self.rng.randrange(40_000, 200_000)
            return "attachment", _mail(
                sender,
                "Photo of the problem",
                _text(self.rng, 60),
                self.rng,
                attachment=os.urandom(size),
            )
        return "new", _mail(
            sender, f"Problem with {self.rng.choice(WORDS)}", _text(self.rng, 150), self.rng
        )


def _mail(
    sender: str,
    subject: str,
    body: str,
    rng: random.Random,
    *,
    headers: dict[str, str] | None = None,
    attachment: bytes | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = f"Customer {rng.randrange(1000)} <{sender}>"
    message["To"] = "support@desk.example"
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(str(rng.randrange(10**9)), "bench.example")
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    if attachment is not None:
        message.add_attachment(attachment, maintype="image", subtype="jpeg", filename="photo.jpg")
    return bytes(message)


async def run_http(base_url: str, token: str, clients: int, seconds: float) -> dict[str, Any]:
    mix = Mix(random.Random(7))
    latencies: list[float] = []
    kinds: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    deadline = 0.0
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "message/rfc822"}

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal deadline
        while time.monotonic() < deadline:
            kind, raw = mix.next()
            started = time.perf_counter()
            response = await http.post("/api/v1/inbound/email", content=raw, headers=headers)
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[response.status_code] += 1
            kinds[kind] += 1
            if response.status_code == 202:
                answer = response.json()
                outcomes[answer["outcome"]] += 1
                if answer["outcome"] == "created" and kind in ("new", "attachment"):
                    sender = raw.split(b"<", 2)[1].split(b">", 1)[0].decode()
                    mix.tickets.append((answer["ticket_id"], sender))

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as http:
        # Warm up: a few tickets to reply to, and the workers' caches.
        for _ in range(50):
            _kind, raw = mix.next()
            response = await http.post("/api/v1/inbound/email", content=raw, headers=headers)
            answer = response.json()
            if answer.get("outcome") == "created":
                sender = raw.split(b"<", 2)[1].split(b">", 1)[0].decode()
                mix.tickets.append((answer["ticket_id"], sender))
        started = time.monotonic()
        deadline = started + seconds
        await asyncio.gather(*(client(http) for _ in range(clients)))
        elapsed = time.monotonic() - started
    return {
        "requests": len(latencies),
        "per_second": len(latencies) / elapsed,
        "latency": percentiles(latencies),
        "kinds": dict(kinds),
        "outcomes": dict(outcomes),
        "statuses": dict(statuses),
        "elapsed": elapsed,
    }


async def run_smtp(port: int, url: str, connections: int, seconds: float) -> dict[str, Any]:
    mix = Mix(random.Random(11))
    accepted = 0
    refused = 0
    latencies: list[float] = []
    before = await _count(url)
    deadline = time.monotonic() + seconds

    async def connection() -> None:
        nonlocal accepted, refused
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=60)
        await smtp.connect()
        try:
            while time.monotonic() < deadline:
                _kind, raw = mix.next()
                started = time.perf_counter()
                try:
                    await smtp.sendmail("mta@bench.example", ["support@desk.example"], raw)
                    accepted += 1
                except aiosmtplib.SMTPResponseException:
                    refused += 1
                latencies.append((time.perf_counter() - started) * 1000)
        finally:
            await smtp.quit()

    started = time.monotonic()
    await asyncio.gather(*(connection() for _ in range(connections)))
    elapsed = time.monotonic() - started
    recorded = await _count(url) - before
    return {
        "accepted": accepted,
        "refused": refused,
        "recorded": recorded,
        "per_second": accepted / elapsed,
        "latency": percentiles(latencies),
        "elapsed": elapsed,
    }


async def _count(url: str) -> int:
    connection = await db.connect(url)
    try:
        return int(await connection.fetchval("SELECT count(*) FROM inbound_messages"))
    finally:
        await connection.close()


async def _fresh_database(url: str) -> None:
    await db.ensure_database(url)
    connection = await asyncpg.connect(db.with_database(url, "postgres"))
    try:
        name = db.database_name(url)
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


def _report(http: dict[str, Any], smtp: dict[str, Any], args: argparse.Namespace) -> str:
    lat, slat = http["latency"], smtp["latency"]
    five = sum(v for k, v in http["statuses"].items() if k >= 500)
    return f"""{START}
## End to end: POST /inbound/email and the SMTP receiver

`python -m bench.inbound_intake` ([inbound_intake.py](inbound_intake.py)): its own
database, `helpdesk serve --workers 2` (delivery workers in its background process),
{args.clients} HTTP clients for {args.seconds:g} s; then `helpdesk mail-receiver` and
{args.smtp_connections} SMTP connections for {args.seconds:g} s. Machine: 2 cores,
shared (load average {os.getloadavg()[0]:.1f} when it ended); PostgreSQL on the same
machine. Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.

| What | Figure |
|---|---|
| HTTP throughput | **{http["per_second"]:.0f} mails/s** ({http["requests"]} mails) |
| HTTP latency | p50 {lat["p50"]:.0f} ms, **p99 {lat["p99"]:.0f} ms**, max {lat["max"]:.0f} ms |
| The mix | {", ".join(f"{k} {v}" for k, v in sorted(http["kinds"].items()))} |
| Outcomes | {", ".join(f"{k} {v}" for k, v in sorted(http["outcomes"].items()))} |
| Statuses | {", ".join(f"{k}: {v}" for k, v in sorted(http["statuses"].items()))} ({five} 5xx) |
| SMTP throughput | **{smtp["per_second"]:.0f} mails/s** ({smtp["accepted"]} answered 250) |
| SMTP latency (DATA to 250) | p50 {slat["p50"]:.0f} ms, p99 {slat["p99"]:.0f} ms |
| Every 250 committed | {smtp["recorded"]} records, {smtp["accepted"]} 250s, \
{smtp["refused"]} refused |
{END}"""


def _write(section: str) -> None:
    text = REPORT.read_text() if REPORT.exists() else "# Inbound mail benchmark\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    REPORT.write_text(text)


@contextlib.contextmanager
def _mail_receiver(url: str, port: int, env: dict[str, str]) -> Iterator[None]:
    log = (server.LOG_DIR / "mail-receiver.log").open("wb")
    with tempfile.TemporaryDirectory() as data_dir:
        process = subprocess.Popen(  # noqa: S603 - our own command line
            [server.helpdesk_command(), "mail-receiver"],
            env={
                **os.environ,
                **env,
                "HELPDESK_DATABASE_URL": url,
                "HELPDESK_DATA_DIR": data_dir,
                "HELPDESK_LOG_LEVEL": "warning",
            },
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                    break
                time.sleep(0.2)
            yield
        finally:
            process.terminate()
            process.wait(timeout=20)
            log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--smtp-connections", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--no-report", action="store_true")
    args = parser.parse_args()
    url = db.with_database(db.bench_database_url(), "helpdesk_bench_inbound").replace(
        "postgresql://", "postgresql+asyncpg://"
    )
    asyncio.run(_fresh_database(url))
    server.migrate(url)
    token = server.create_admin(url, "bench@example.com", "Bench")
    smtp_port = 18944
    env = {
        "HELPDESK_RATE_LIMIT_PER_MINUTE": "1000000",
        "HELPDESK_RATE_LIMIT_BURST": "100000",
        "HELPDESK_INBOUND_SMTP_PORT": str(smtp_port),
        "HELPDESK_INBOUND_ADDRESSES": "support@desk.example",
        "HELPDESK_INBOUND_IMAP": "false",
    }
    with server.Server(url, port=18943, workers=2, env=env) as running:
        http = asyncio.run(run_http(running.base_url, token, args.clients, args.seconds))
    # The SMTP receiver as `helpdesk mail-receiver`, a process of its own at normal
    # priority: serve's background process runs at a lower CPU priority, which on a
    # busy machine is what an MTA waiting for its 250 would measure.
    with _mail_receiver(url, smtp_port, env):
        smtp = asyncio.run(run_smtp(smtp_port, url, args.smtp_connections, args.seconds))
    section = _report(http, smtp, args)
    print(section)
    if not args.no_report:
        _write(section)


if __name__ == "__main__":
    main()
