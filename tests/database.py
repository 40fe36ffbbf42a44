"""The test database: a fresh database per test session on a real PostgreSQL.

HELPDESK_TEST_DATABASE_URL names a server to use (any database on it; the tests create
their own next to it); without it the embedded server in var/test-postgres is used.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from app.db import asyncpg_connect_args

REPO_ROOT = Path(__file__).resolve().parent.parent


def server_url() -> str:
    configured = os.environ.get("HELPDESK_TEST_DATABASE_URL")
    if configured:
        if configured.startswith(("postgres://", "postgresql://")):
            configured = "postgresql+asyncpg://" + configured.split("://", 1)[1]
        return configured
    from app import embedded_db

    return embedded_db.start(REPO_ROOT / "var" / "test-postgres")


async def create_database(url: str) -> str:
    """Create a uniquely named database on the server of `url`; return its URL."""
    name = f"helpdesk_test_{os.getpid()}_{secrets.token_hex(3)}"
    connection = await asyncpg.connect(**asyncpg_connect_args(url))
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


async def drop_database(url: str) -> None:
    parsed = make_url(url)
    maintenance = parsed.set(database="postgres").render_as_string(hide_password=False)
    connection = await asyncpg.connect(**asyncpg_connect_args(maintenance))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
    finally:
        await connection.close()
