"""The guides' examples, run as written against a real server and a real webhook receiver.

A fenced block right after `<!-- run: NAME -->` in docs/ is an example; each NAME has a
runner here, and a marked block without one fails the suite.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.factories import Actor, Actors
from tests.service_process import free_port, serving

pytestmark = pytest.mark.usefixtures("sessionmaker")
REPO_ROOT = Path(__file__).resolve().parents[2]
_BLOCK = re.compile(r"<!-- run: ([a-z0-9-]+) -->\n```([a-z]+)\n(.*?)\n```", re.DOTALL)
NODE_MODULES = REPO_ROOT / ".tools" / "docs-node"


def examples() -> dict[str, tuple[str, str]]:
    found: dict[str, tuple[str, str]] = {}
    for guide in sorted((REPO_ROOT / "docs").glob("*.md")):
        for name, language, code in _BLOCK.findall(guide.read_text()):
            assert name not in found, f"two examples are called {name}"
            found[name] = (language, code)
    return found


RUNNERS = {"rest-tour", "live-session", "webhook-python", "webhook-javascript", "scrape-metrics"}


def test_every_marked_example_is_run_by_a_test() -> None:
    assert set(examples()) == RUNNERS


@pytest.fixture
async def service(database_url: str, tmp_path: Path) -> AsyncIterator[str]:
    env = {
        "HELPDESK_DATABASE_URL": database_url,
        "HELPDESK_DATA_DIR": str(tmp_path),
        "HELPDESK_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        "HELPDESK_NOTIFICATION_POLL_INTERVAL_SECONDS": "0.2",
        "HELPDESK_CONTINUITY_SCHEDULER": "false",
        "HELPDESK_SLA_WATCHER": "false",
        "HELPDESK_LOG_LEVEL": "warning",
    }
    async with serving(env, tmp_path / "serve.log") as base_url:
        yield base_url


async def run_example(name: str, env: dict[str, str]) -> str:
    language, code = examples()[name]
    command = {
        "python": [sys.executable, "-c", code],
        "sh": ["bash", "-euo", "pipefail", "-c", code],
        "javascript": ["node", "-e", code],
    }[language]
    process = await asyncio.create_subprocess_exec(
        *command,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()
    return stdout.decode()


async def test_the_rest_tour(service: str, actors: Actors) -> None:
    agent = await actors.agent()

    output = await run_example(
        "rest-tour", {"HELPDESK_URL": service, "HELPDESK_TOKEN": agent.token}
    )

    assert "retry replayed: true" in output
    assert "conditional read: 304" in output
    assert "update: 200" in output
    assert "stale update: 412 urn:helpdesk:problem:precondition-failed" in output
    assert "new tickets: 1" in output
    assert "rate limit: {'RateLimit-Limit'" in output


async def test_the_live_session(service: str, actors: Actors) -> None:
    agent = await actors.agent()

    output = await run_example(
        "live-session", {"HELPDESK_URL": service, "HELPDESK_TOKEN": agent.token}
    )

    assert "ready as agent" in output
    assert "subscribed to ['queue:all']" in output
    assert "event ticket.created on ticket" in output
    assert "error: unknown frame type 'dance'" in output
    assert "reply: pong" in output


async def test_the_metrics_scrape(service: str, actors: Actors) -> None:
    agent = await actors.agent()
    async with httpx.AsyncClient(base_url=service) as http:
        await http.get("/api/v1/me", headers=agent.headers)

    output = await run_example("scrape-metrics", {"HELPDESK_URL": service})

    assert 'route="/api/v1/me"' in output


async def _webhook_round_trip(name: str, service: str, admin: Actor, env: dict[str, str]) -> str:
    port = free_port()
    async with httpx.AsyncClient(base_url=f"{service}/api/v1", headers=admin.headers) as api:
        endpoint = await api.post(
            "/webhooks",
            json={"url": f"http://127.0.0.1:{port}/hooks", "event_kinds": ["ticket.created"]},
        )
        assert endpoint.status_code == 201, endpoint.text
        receiver = asyncio.create_task(
            run_example(
                name, {**env, "WEBHOOK_SECRET": endpoint.json()["secret"], "PORT": str(port)}
            )
        )
        await _listening(port)
        filed = await api.post(
            "/tickets",
            json={
                "subject": "Hook",
                "description": "Tell the CRM.",
                "requester": {"email": "c@example.com"},
            },
        )
        assert filed.status_code == 201, filed.text
    output = await receiver
    assert f"verified ticket.created for ticket {filed.json()['id']}" in output
    return output


async def test_the_python_webhook_receiver(service: str, actors: Actors) -> None:
    await _webhook_round_trip("webhook-python", service, await actors.admin(), {})


async def test_the_javascript_webhook_receiver(service: str, actors: Actors) -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are not installed: the JavaScript example is not run")
    modules = await asyncio.to_thread(_install_standardwebhooks)
    await _webhook_round_trip(
        "webhook-javascript", service, await actors.admin(), {"NODE_PATH": str(modules)}
    )


def _install_standardwebhooks() -> Path:
    """The npm package the example uses, installed once under .tools/ (gitignored)."""
    modules = NODE_MODULES / "node_modules"
    if not (modules / "standardwebhooks").is_dir():
        npm = shutil.which("npm")
        assert npm is not None
        installed = subprocess.run(  # noqa: S603 - a fixed command
            [
                npm,
                "install",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(NODE_MODULES),
                "standardwebhooks@1.1.1",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if installed.returncode != 0:
            pytest.skip(f"npm could not install standardwebhooks: {installed.stderr[-300:]}")
    return modules


async def _listening(port: int) -> None:
    for _ in range(100):
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise AssertionError(f"the example's receiver never listened on {port}")
