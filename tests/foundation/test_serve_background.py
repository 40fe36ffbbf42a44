"""`helpdesk serve` leaves mail and handovers to its `helpdesk background` child: mail still
goes out with the one command, and the child does not outlive the service."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from tests.foundation.test_cli import helpdesk
from tests.service_process import serving

pytestmark = pytest.mark.usefixtures("sessionmaker")


def _processes_with(marker: str) -> list[int]:
    """Live processes whose environment mentions `marker` (our scratch data dir)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


async def test_serve_delivers_mail_from_its_background_process(
    database_url: str, tmp_path: Path
) -> None:
    env = {"HELPDESK_DATABASE_URL": database_url, "HELPDESK_DATA_DIR": str(tmp_path)}
    admin = await helpdesk("create-admin", "--email", "boss@example.com", "--name", "B", **env)
    token = admin.stdout.strip().splitlines()[-1]
    settings = {**env, "HELPDESK_NOTIFICATION_POLL_INTERVAL_SECONDS": "0.2"}
    async with serving(settings, tmp_path / "serve.log") as base_url:
        async with httpx.AsyncClient(base_url=base_url) as http:
            filed = await http.post(
                "/api/v1/tickets",
                json={
                    "subject": "Printer",
                    "description": "It jams.",
                    "requester": {"email": "carla@example.com"},
                },
                headers={"Authorization": f"Bearer {token}"},
            )
            assert filed.status_code == 201, filed.text
        mailbox = tmp_path / "mailbox" / "carla@example.com"
        for _ in range(150):
            if mailbox.is_dir() and any(mailbox.iterdir()):
                break
            await asyncio.sleep(0.2)
        assert mailbox.is_dir()
        assert any(mailbox.iterdir())
        assert len(_processes_with(str(tmp_path))) >= 2  # serve, its child (and workers)

    for _ in range(50):
        if not _processes_with(str(tmp_path)):
            break
        await asyncio.sleep(0.2)
    assert _processes_with(str(tmp_path)) == []
