"""Replicas that start together migrate one at a time (a PostgreSQL advisory lock)."""

from __future__ import annotations

import asyncio

import asyncpg

from app.db import asyncpg_connect_args
from app.migrations import head_revision
from tests import database
from tests.foundation.test_cli import helpdesk


async def test_three_migrations_started_at_once_all_succeed() -> None:
    url = await database.create_database(await asyncio.to_thread(database.server_url))
    try:
        outcomes = await asyncio.gather(
            *(helpdesk("migrate", HELPDESK_DATABASE_URL=url) for _ in range(3))
        )

        assert [o.code for o in outcomes] == [0, 0, 0], [o.stderr for o in outcomes]
        connection = await asyncpg.connect(**asyncpg_connect_args(url))
        try:
            version = await connection.fetchval("SELECT version_num FROM alembic_version")
        finally:
            await connection.close()
        assert version == head_revision()
    finally:
        await database.drop_database(url)
