"""A real `helpdesk serve` process on a free loopback port, for tests that cross processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def serving(
    env: dict[str, str], log: Path, *, ready_within: float = 30, args: Sequence[str] = ()
) -> AsyncIterator[str]:
    """`helpdesk serve` with only these HELPDESK_* settings; yields its base URL once
    /readyz answers, and stops it with SIGTERM on the way out."""
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    # Its mail goes next to its log unless the test says where: never to var/mailbox.
    env = {"HELPDESK_DATA_DIR": str(log.parent), **env}
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "app.cli",
            "serve",
            "--port",
            str(port),
            "--no-migrate",
            *args,
            cwd=REPO_ROOT,
            env={**clean, **env},
            stdout=sink,
            stderr=sink,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        await _wait_ready(base_url, ready_within)
        yield base_url
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), timeout=30)


async def _wait_ready(base_url: str, within: float) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(base_url=base_url) as probe:
        while True:
            with contextlib.suppress(httpx.TransportError):
                if (await probe.get("/readyz")).status_code == 200:
                    return
            assert time.monotonic() < deadline, f"{base_url} was not ready within {within} s"
            await asyncio.sleep(0.2)
