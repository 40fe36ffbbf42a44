"""`helpdesk worker` processes for crash tests: started for real, killed for real."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.webhooks.helpers import sql

Maker = async_sessionmaker[AsyncSession]
REPO_ROOT = Path(__file__).resolve().parents[1]


class WorkerProcess:
    def __init__(self, process: asyncio.subprocess.Process, log: Path) -> None:
        self.process = process
        self.log = log

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.asynccontextmanager
async def worker_process(
    database_url: str, data_dir: Path, name: str, extra_env: dict[str, str] | None = None
) -> AsyncIterator[WorkerProcess]:
    env = {
        **os.environ,
        **(extra_env or {}),
        "HELPDESK_DATABASE_URL": database_url,
        "HELPDESK_DATA_DIR": str(data_dir),
        "HELPDESK_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        "HELPDESK_NOTIFICATION_POLL_INTERVAL_SECONDS": "0.2",
        "HELPDESK_LOG_LEVEL": "warning",
        "PYTHONUNBUFFERED": "1",
    }
    log = data_dir / f"{name}.log"
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "app.cli",
            "worker",
            "--count",
            "2",
            cwd=REPO_ROOT,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=sink,
            stderr=sink,
        )
    try:
        yield WorkerProcess(process, log)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


async def outstanding(sessionmaker: Maker) -> dict[str, int]:
    rows = await sql(
        sessionmaker,
        "SELECT status, count(*) FROM notification_deliveries "
        "WHERE status IN ('pending', 'sending') GROUP BY status",
    )
    return {status: count for status, count in rows}
