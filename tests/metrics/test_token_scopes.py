"""Integrations read the figures only through a token an admin granted `metrics:read`,
and then as a supervisor would; nobody else holds or grants a scope."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from httpx import AsyncClient, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.cache import TokenCache
from app.auth.tokens import hash_token
from tests.factories import Actor, Actors, assert_problem
from tests.metrics.helpers import API, history, ok

READ = ["metrics:read"]
FIGURES = (
    "/metrics/summary",
    "/metrics/timeseries",
    "/metrics/timeseries.svg",
    "/metrics/agents",
    "/metrics/teams",
    "/insights/emerging",
    "/alerts",
)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _issue(client: AsyncClient, caller: Actor, user_id: int, **fields: Any) -> Response:
    return await client.post(
        f"{API}/users/{user_id}/tokens",
        json={"name": "figures", **fields},
        headers=caller.headers,
    )


async def test_a_scoped_integration_reads_every_figure_as_a_supervisor_does(
    client: AsyncClient, actors: Actors, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    desk = await history(client, actors, sessionmaker)
    admin, integration = await actors.admin(), await actors.integration()
    issued = ok(await _issue(client, admin, integration.id, scopes=READ), 201)
    assert issued["scopes"] == READ
    scoped = bearer(issued["token"])
    listed = ok(await client.get(f"{API}/users/{integration.id}/tokens", headers=admin.headers))
    assert [t["scopes"] for t in listed] == [[], READ]

    for path in FIGURES:
        response = await client.get(f"{API}{path}", headers=scoped)
        assert response.status_code == 200, (path, response.text)
        assert_problem(await client.get(f"{API}{path}", headers=integration.headers), 403)

    today = datetime.now(UTC).date()  # a fixed span: "now" moves between two requests
    span = {"from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1))}
    for path, params in (
        ("/metrics/summary", span),
        ("/metrics/summary", {**span, "team_id": desk.team_one}),
        ("/metrics/summary", {**span, "agent_id": desk.second.id}),
        ("/metrics/agents", span),
        ("/metrics/teams", span),
        ("/metrics/timeseries", {**span, "group_by": "team"}),
    ):
        theirs = ok(await client.get(f"{API}{path}", params=params, headers=scoped))
        supervisors = ok(
            await client.get(f"{API}{path}", params=params, headers=desk.supervisor.headers)
        )
        assert theirs == supervisors, path
    desk_wide = ok(await client.get(f"{API}/metrics/summary", headers=scoped))
    assert desk_wide["filter"] is None
    assert desk_wide["kpis"]["created"] == 4


async def test_without_the_scope_an_integration_is_told_what_it_needs(
    client: AsyncClient, actors: Actors
) -> None:
    integration = await actors.integration()
    problem = assert_problem(
        await client.get(f"{API}/metrics/summary", headers=integration.headers), 403
    )
    assert "metrics:read" in problem["detail"]
    # Rules stay for supervisors and admins, whatever the token holds.
    admin = await actors.admin()
    scoped = bearer(ok(await _issue(client, admin, integration.id, scopes=READ), 201)["token"])
    assert_problem(await client.get(f"{API}/alert-rules", headers=scoped), 403)


async def test_only_an_admin_grants_a_scope_and_only_to_an_integration(
    client: AsyncClient, actors: Actors
) -> None:
    admin, supervisor = await actors.admin(), await actors.supervisor()
    agent, customer = await actors.agent(), await actors.customer()
    integration = await actors.integration()
    for actor in (agent, customer, supervisor, integration):
        problem = assert_problem(await _issue(client, actor, actor.id, scopes=READ), 403)
        assert "Only an admin may grant token scopes" in problem["detail"]
    for actor, role in ((agent, "an agent"), (customer, "a customer"), (admin, "an admin")):
        problem = assert_problem(await _issue(client, admin, actor.id, scopes=READ), 422)
        assert f"user {actor.id} is {role}" in problem["detail"]
        assert problem["errors"][0]["loc"] == ["body", "scopes"]
    unknown = await _issue(client, admin, integration.id, scopes=["tickets:write"])
    assert_problem(unknown, 422)
    for actor in (agent, customer, supervisor, admin):
        tokens = ok(await client.get(f"{API}/users/{actor.id}/tokens", headers=admin.headers))
        assert [t["scopes"] for t in tokens] == [[]]
    # Without scopes, issuing stays as it was for everyone.
    assert ok(await _issue(client, agent, agent.id), 201)["scopes"] == []


async def test_a_revoked_scoped_token_is_401_at_once_even_from_the_cache(
    client: AsyncClient, actors: Actors, app: FastAPI
) -> None:
    admin, integration = await actors.admin(), await actors.integration()
    issued = ok(await _issue(client, admin, integration.id, scopes=READ), 201)
    scoped = bearer(issued["token"])
    cache: TokenCache = app.state.token_cache
    for _ in range(100):  # until the cache holds it (its listener may still be connecting)
        ok(await client.get(f"{API}/metrics/summary", headers=scoped))
        cached = cache.get(hash_token(issued["token"]))
        if cached is not None:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the token never got cached")
    assert cached.scopes == frozenset(READ)
    ok(await client.get(f"{API}/metrics/summary", headers=scoped))  # served from the cache
    unscoped = await client.get(f"{API}/metrics/summary", headers=integration.headers)
    assert_problem(unscoped, 403)  # the same user, another token: not the same scopes

    revoked = await client.delete(f"{API}/tokens/{issued['id']}", headers=admin.headers)
    assert revoked.status_code == 204
    problem = assert_problem(await client.get(f"{API}/metrics/summary", headers=scoped), 401)
    assert "revoked" in problem["detail"]
    assert cache.get(hash_token(issued["token"])) is None


async def test_a_scope_counts_only_while_its_user_is_an_integration(
    client: AsyncClient, actors: Actors
) -> None:
    admin, integration = await actors.admin(), await actors.integration()
    scoped = bearer(ok(await _issue(client, admin, integration.id, scopes=READ), 201)["token"])
    ok(await client.get(f"{API}/metrics/summary", headers=scoped))
    changed = await client.patch(
        f"{API}/users/{integration.id}", json={"role": "customer"}, headers=admin.headers
    )
    assert changed.status_code == 200, changed.text
    assert_problem(await client.get(f"{API}/metrics/summary", headers=scoped), 403)
