"""The token cache saves a lookup per request and never outlives a change: revocation,
deactivation and profile changes apply to the very next request, whichever process
or path made them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from app.auth.cache import LISTENER_APPLICATION_NAME, TokenCache
from app.auth.tokens import hash_token
from app.db import asyncpg_connect_args
from tests.factories import Actor, Actors, assert_problem


def _cache(app: FastAPI) -> TokenCache:
    cache: TokenCache = app.state.token_cache
    return cache


async def _cached_after_use(client: AsyncClient, app: FastAPI, actor: Actor) -> None:
    """Use the token until the cache holds it (its listener may still be connecting)."""
    for _ in range(100):
        assert (await client.get("/api/v1/me", headers=actor.headers)).status_code == 200
        if _cache(app).get(hash_token(actor.token)) is not None:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the token never got cached")


@pytest.fixture
async def outside(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """Another process's connection: changes made here reach the app only by NOTIFY."""
    connection = await asyncpg.connect(**asyncpg_connect_args(database_url))
    yield connection
    await connection.close()


async def _status_within(client: AsyncClient, actor: Actor, expected: int) -> int:
    for _ in range(100):
        status = (await client.get("/api/v1/me", headers=actor.headers)).status_code
        if status == expected:
            return status
        await asyncio.sleep(0.02)
    return status


async def test_a_cached_token_revoked_through_the_api_is_refused_at_once(
    client: AsyncClient, actors: Actors, app: FastAPI
) -> None:
    agent = await actors.agent()
    await _cached_after_use(client, app, agent)
    listed = await client.get(f"/api/v1/users/{agent.id}/tokens", headers=agent.headers)
    token_id = listed.json()[0]["id"]

    revoked = await client.delete(f"/api/v1/tokens/{token_id}", headers=agent.headers)

    assert revoked.status_code == 204
    body = assert_problem(await client.get("/api/v1/me", headers=agent.headers), 401)
    assert "revoked" in body["detail"]


async def test_a_cached_user_deactivated_or_renamed_is_seen_at_once(
    client: AsyncClient, actors: Actors, app: FastAPI
) -> None:
    admin, agent, other = await actors.admin(), await actors.agent(), await actors.agent()
    await _cached_after_use(client, app, agent)
    await _cached_after_use(client, app, other)

    renamed = await client.patch(
        f"/api/v1/users/{other.id}", json={"name": "Renamed"}, headers=admin.headers
    )
    deactivated = await client.patch(
        f"/api/v1/users/{agent.id}", json={"active": False}, headers=admin.headers
    )

    assert (renamed.status_code, deactivated.status_code) == (200, 200)
    assert (await client.get("/api/v1/me", headers=other.headers)).json()["name"] == "Renamed"
    assert_problem(await client.get("/api/v1/me", headers=agent.headers), 401)


async def test_a_change_made_elsewhere_reaches_the_cache_by_notification(
    client: AsyncClient, actors: Actors, app: FastAPI, outside: asyncpg.Connection
) -> None:
    agent = await actors.agent()
    await _cached_after_use(client, app, agent)

    await outside.execute("UPDATE api_tokens SET revoked_at = now() WHERE user_id = $1", agent.id)

    assert await _status_within(client, agent, 401) == 401
    assert _cache(app).get(hash_token(agent.token)) is None


async def test_while_the_listener_is_down_nothing_is_served_from_the_cache(
    client: AsyncClient, actors: Actors, app: FastAPI, outside: asyncpg.Connection
) -> None:
    agent = await actors.agent()
    await _cached_after_use(client, app, agent)

    await outside.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE application_name = $1 AND datname = current_database()",
        LISTENER_APPLICATION_NAME,
    )
    for _ in range(100):
        if not _cache(app).active:
            break
        await asyncio.sleep(0.01)
    # A change no notification announces (the trigger is bypassed), made while the
    # listener reconnects: only a lookup can see it.
    await outside.execute("SET session_replication_role = replica")
    await outside.execute("UPDATE users SET active = false WHERE id = $1", agent.id)

    if _cache(app).get(hash_token(agent.token)) is None:
        assert_problem(await client.get("/api/v1/me", headers=agent.headers), 401)
    else:  # the listener was back first, and started from an empty cache
        raise AssertionError("a reconnected listener must start from an empty cache")
