"""Losing the database connections (a server restart, a failover) costs a request at
most a 503 with Retry-After, never a 500, and the pool recovers by itself."""

from __future__ import annotations

import asyncio

import asyncpg
from httpx import AsyncClient

from app.db import asyncpg_connect_args
from tests.factories import Actors


async def _terminate_pooled_connections(database_url: str) -> int:
    """What a restart does to the service's pooled connections (not the event hub's)."""
    admin = await asyncpg.connect(**asyncpg_connect_args(database_url))
    try:
        killed: int = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = 'helpdesk'"
            " AND pid <> pg_backend_pid()"
        )
        for _ in range(100):
            left = await admin.fetchval(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND application_name = 'helpdesk'"
            )
            if left == 0:
                break
            await asyncio.sleep(0.05)
        return killed
    finally:
        await admin.close()


async def test_requests_after_the_connections_died_are_503_at_most_once_then_served(
    client: AsyncClient, actors: Actors, database_url: str
) -> None:
    agent = await actors.agent()
    for _ in range(3):
        assert (await client.get("/api/v1/me", headers=agent.headers)).status_code == 200

    assert await _terminate_pooled_connections(database_url) > 0
    statuses = [
        (await client.get("/api/v1/tickets", headers=agent.headers)).status_code for _ in range(5)
    ]

    assert 500 not in statuses
    assert statuses.count(503) <= 1, statuses
    assert statuses[-4:] == [200] * 4, statuses
