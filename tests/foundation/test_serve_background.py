"""`helpdesk serve` leaves mail and handovers to its `helpdesk background` child: mail still
goes out with the one command, and the child does not outlive the service."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import httpx
import pytest

from tests.foundation.test_cli import REPO_ROOT, helpdesk

pytestmark = pytest.mark.usefixtures("sessionmaker")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


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
    port = _free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        "serve",
        "--port",
        str(port),
        "--no-migrate",
        cwd=REPO_ROOT,
        env={**clean, **env, "HELPDESK_NOTIFICATION_POLL_INTERVAL_SECONDS": "0.2"},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            for _ in range(150):
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
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
    finally:
        if server.returncode is None:
            server.send_signal(signal.SIGTERM)
            await asyncio.wait_for(server.wait(), timeout=30)

    for _ in range(50):
        if not _processes_with(str(tmp_path)):
            break
        await asyncio.sleep(0.2)
    assert _processes_with(str(tmp_path)) == []
