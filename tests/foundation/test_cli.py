"""The `helpdesk` command, run as a real process: expected failures are one line and exit 1."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from httpx import AsyncClient

REPO_ROOT = Path(__file__).resolve().parents[2]
UNREACHABLE = "postgresql+asyncpg://helpdesk:secret@127.0.0.1:1/helpdesk"
GOOD_SECRET = "a-production-secret-that-is-long-enough-0123456789"

# create-admin writes to the test database: have the clean slate wipe it afterwards.
pytestmark = pytest.mark.usefixtures("sessionmaker")


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str

    @property
    def error_line(self) -> str:
        """The one line an expected failure prints, checked to be exactly one."""
        lines = self.stderr.strip().splitlines()
        assert len(lines) == 1, self.stderr
        assert "Traceback" not in self.stderr
        return lines[0]


async def helpdesk(*args: str, **env: str) -> Outcome:
    """Run `helpdesk ARGS` with only the given HELPDESK_* settings in its environment."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        *args,
        cwd=REPO_ROOT,
        env={**clean, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return Outcome(process.returncode, stdout.decode(), stderr.decode())


async def test_help_lists_the_commands() -> None:
    outcome = await helpdesk("--help")

    assert outcome.code == 0, outcome.stderr
    for command in ("serve", "migrate", "create-admin"):
        assert command in outcome.stdout


async def test_migrate_against_an_unreachable_database_is_one_line() -> None:
    outcome = await helpdesk("migrate", HELPDESK_DATABASE_URL=UNREACHABLE)

    assert outcome.code == 1
    assert outcome.error_line.startswith("helpdesk: error: cannot reach the database")
    assert "127.0.0.1:1" in outcome.error_line
    assert "secret" not in outcome.stderr  # the password is masked


async def test_a_mysql_url_is_refused_in_one_line() -> None:
    outcome = await helpdesk(
        "migrate", HELPDESK_DATABASE_URL="mysql://root:pw@127.0.0.1:3306/helpdesk"
    )

    assert outcome.code == 1
    assert outcome.error_line.startswith("helpdesk: error: invalid settings: ")
    assert "HELPDESK_DATABASE_URL" in outcome.error_line


async def test_production_without_a_secret_key_is_refused_in_one_line() -> None:
    outcome = await helpdesk(
        "migrate", HELPDESK_ENV="production", HELPDESK_DATABASE_URL=UNREACHABLE
    )

    assert outcome.code == 1
    assert outcome.error_line.startswith("helpdesk: error: invalid settings: ")
    assert "HELPDESK_SECRET_KEY" in outcome.error_line


async def test_production_with_a_short_secret_key_is_refused() -> None:
    outcome = await helpdesk(
        "migrate",
        HELPDESK_ENV="production",
        HELPDESK_SECRET_KEY="short",
        HELPDESK_DATABASE_URL=UNREACHABLE,
    )

    assert outcome.code == 1
    assert "HELPDESK_SECRET_KEY" in outcome.error_line


async def test_production_with_a_real_secret_key_gets_past_the_settings() -> None:
    outcome = await helpdesk(
        "migrate",
        HELPDESK_ENV="production",
        HELPDESK_SECRET_KEY=GOOD_SECRET,
        HELPDESK_DATABASE_URL=UNREACHABLE,
    )

    assert outcome.code == 1
    assert outcome.error_line.startswith("helpdesk: error: cannot reach the database")


async def test_migrate_accepts_a_plain_postgresql_url(database_url: str) -> None:
    plain = "postgresql://" + database_url.split("://", 1)[1]

    outcome = await helpdesk("migrate", HELPDESK_DATABASE_URL=plain)

    assert outcome.code == 0, outcome.stderr
    assert "is at the latest migration" in outcome.stdout


async def test_create_admin_prints_a_token_that_works(
    database_url: str, client: AsyncClient
) -> None:
    outcome = await helpdesk(
        "create-admin",
        "--email",
        "Root@Example.com",
        "--name",
        "Root",
        HELPDESK_DATABASE_URL=database_url,
    )

    assert outcome.code == 0, outcome.stderr
    token = outcome.stdout.strip().splitlines()[-1]
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
    assert (me.json()["email"], me.json()["role"]) == ("root@example.com", "admin")


async def test_create_admin_twice_with_the_same_email_is_one_line(database_url: str) -> None:
    first = await helpdesk(
        "create-admin",
        "--email",
        "root@example.com",
        "--name",
        "Root",
        HELPDESK_DATABASE_URL=database_url,
    )
    assert first.code == 0, first.stderr

    second = await helpdesk(
        "create-admin",
        "--email",
        "ROOT@example.com",
        "--name",
        "Root again",
        HELPDESK_DATABASE_URL=database_url,
    )

    assert second.code == 1
    assert second.error_line.startswith("helpdesk: error: ")
    assert "root@example.com already exists" in second.error_line
    assert second.stdout == ""


async def test_create_admin_with_a_bad_email_is_one_line(database_url: str) -> None:
    outcome = await helpdesk(
        "create-admin",
        "--email",
        "not-an-email",
        "--name",
        "Root",
        HELPDESK_DATABASE_URL=database_url,
    )

    assert outcome.code == 1
    assert outcome.error_line.startswith("helpdesk: error: invalid admin")


async def test_serve_on_a_port_in_use_is_one_line() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        outcome = await helpdesk(
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            HELPDESK_DATABASE_URL=UNREACHABLE,
        )

    assert outcome.code == 1
    assert "already in use" in outcome.error_line
    assert str(port) in outcome.error_line
