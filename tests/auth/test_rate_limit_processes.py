"""The per-user limit holds across real `helpdesk serve` processes, each with workers."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from tests.factories import Actors
from tests.service_process import serving

pytestmark = pytest.mark.usefixtures("sessionmaker")


async def test_processes_and_workers_share_one_limit(
    database_url: str, tmp_path: Path, actors: Actors
) -> None:
    env = {
        "HELPDESK_DATABASE_URL": database_url,
        "HELPDESK_DATA_DIR": str(tmp_path),
        "HELPDESK_RATE_LIMIT_PER_MINUTE": "60",
        "HELPDESK_RATE_LIMIT_BURST": "10",
        "HELPDESK_NOTIFICATION_WORKERS": "0",
        "HELPDESK_CONTINUITY_SCHEDULER": "false",
        "HELPDESK_SLA_WATCHER": "false",
        "HELPDESK_LOG_LEVEL": "warning",
    }
    agent = await actors.agent()
    async with (
        serving(env, tmp_path / "a.log", args=["--workers", "2"]) as first,
        serving(env, tmp_path / "b.log", args=["--workers", "2"]) as second,
        httpx.AsyncClient(headers={"Authorization": f"Bearer {agent.token}"}) as http,
    ):
        started = time.monotonic()
        # Fresh connections each time, so both workers of each process take some.
        answers = await asyncio.gather(
            *(
                http.get(f"{base}/api/v1/me", headers={"Connection": "close"})
                for base in [first, second] * 20
            )
        )
        elapsed = time.monotonic() - started

    through = [answer for answer in answers if answer.status_code == 200]
    refused = [answer for answer in answers if answer.status_code == 429]
    assert len(through) + len(refused) == 40
    # The burst, plus one a second for the time it took; four workers with a bucket
    # each would have let up to 40 through.
    assert 10 <= len(through) <= 10 + int(elapsed) + 1, (len(through), elapsed)
    assert {answer.headers["RateLimit-Limit"] for answer in answers} == {"10"}
    assert all("Retry-After" in answer.headers for answer in refused)
