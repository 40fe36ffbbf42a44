"""`python -m bench.inbound_memory`: what a 20 MB mail costs the whole intake.

In a fresh process, the same 20 MB mail as bench/mail_parse.py (text and HTML, a 14 MB
and a 1 MB attachment, an inline image) goes through the email intake pipeline into
the benchmark database: parse, keep the raw mail, store its files, record the ticket,
commit. Measured: the peak of Python allocations (tracemalloc) and the growth of the
peak RSS over the RSS with the raw mail already in memory. Target: under 3x its size.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

from bench import db, server
from bench.mail_parse import _reset_peak_rss, _status_kib, big_mail

REPORT = Path(__file__).parent / "INBOUND.md"
START, END = "<!-- memory:start -->", "<!-- memory:end -->"


def child(path: Path, url: str) -> None:
    from app import wiring
    from app.attachments.setup import store_from_settings
    from app.config import Settings
    from app.db import create_engine
    from app.inbound.pipeline import Arrival
    from app.inbound.setup import email_intake

    async def run() -> dict[str, float]:
        with tempfile.TemporaryDirectory() as folder:
            settings = Settings(database_url=url, data_dir=Path(folder))
            wiring.configure(settings)
            engine = create_engine(settings, url)
            maker = wiring.sessionmaker_for(engine)
            intake = email_intake(settings, store_from_settings(settings))
            warm = b"From: warm@up.example\r\nSubject: x\r\nMessage-ID: <w@x>\r\n\r\nwarm\r\n"
            async with maker() as session, session.begin():
                await intake.take_in(session, Arrival(warm, via="http"))
            raw = await asyncio.to_thread(path.read_bytes)
            _reset_peak_rss()
            rss_before = _status_kib("VmRSS")
            tracemalloc.start()
            began = time.perf_counter()
            async with maker() as session, session.begin():
                result = await intake.take_in(session, Arrival(raw, via="http"))
            seconds = time.perf_counter() - began
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            rss_growth = _status_kib("VmHWM") - rss_before
            await engine.dispose()
            return {
                "size": len(raw),
                "seconds": seconds,
                "peak_alloc": peak,
                "rss_growth": rss_growth,
                "outcome": result.outcome.value,  # type: ignore[dict-item]
            }

    print(json.dumps(asyncio.run(run())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=2, metavar=("MAIL", "URL"))
    parser.add_argument("--no-report", action="store_true")
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), args.child[1])
        return
    url = db.with_database(db.bench_database_url(), "helpdesk_bench_inbound").replace(
        "postgresql://", "postgresql+asyncpg://"
    )
    asyncio.run(db.ensure_database(url))
    server.migrate(url)
    with tempfile.NamedTemporaryFile(suffix=".eml") as mail:
        mail.write(big_mail())
        mail.flush()
        output = subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "bench.inbound_memory", "--child", mail.name, url],
            check=True,
            capture_output=True,
            text=True,
            cwd=server.REPO,
        ).stdout
    figures = json.loads(output.strip().splitlines()[-1])
    size, alloc, rss = figures["size"], figures["peak_alloc"], figures["rss_growth"]
    section = f"""{START}
## A 20 MB mail through the whole intake

`python -m bench.inbound_memory` ([inbound_memory.py](inbound_memory.py)): the same
{size / 1e6:.1f} MB mail, in a fresh process, through the email pipeline into
PostgreSQL (parse, raw mail kept, files stored, ticket recorded, commit). Measured
{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; outcome `{figures["outcome"]}` in \
{figures["seconds"]:.2f} s.

| What | Figure |
|---|---|
| Peak Python allocation | {alloc / 1e6:.1f} MB = **{alloc / size:.2f}x** its size |
| Peak RSS growth | {rss / 1e6:.1f} MB = **{rss / size:.2f}x** its size |
{END}"""
    print(section)
    if not args.no_report:
        text = REPORT.read_text()
        if START in text and END in text:
            head, rest = text.split(START, 1)
            text = head + section + rest.split(END, 1)[1]
        else:
            text = text.rstrip("\n") + "\n\n" + section + "\n"
        REPORT.write_text(text)


if __name__ == "__main__":
    main()
