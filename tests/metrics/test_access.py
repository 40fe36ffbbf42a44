"""Who sees which figures."""

from __future__ import annotations

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import Actors, assert_problem
from tests.metrics.helpers import API, history, ok

ENDPOINTS = ("summary", "timeseries", "agents", "teams")


async def test_customers_and_unscoped_integrations_see_nothing(
    client: AsyncClient, actors: Actors
) -> None:
    """An integration reads figures only with a scoped token (tests/metrics/test_token_scopes)."""
    for actor in (await actors.customer(), await actors.integration()):
        for name in ENDPOINTS:
            assert_problem(await client.get(f"{API}/metrics/{name}", headers=actor.headers), 403)


async def test_an_agent_sees_their_own_figures_and_their_teams_not_others(
    client: AsyncClient, actors: Actors, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    desk = await history(client, actors, sessionmaker)
    mine = ok(await client.get(f"{API}/metrics/summary", headers=desk.second.headers))
    assert mine["filter"] == {"dimension": "agent", "value": str(desk.second.id)}
    assert mine["kpis"]["resolved"] == 1  # ticket three, before it was reopened

    team = ok(
        await client.get(
            f"{API}/metrics/summary",
            params={"team_id": desk.team_two},
            headers=desk.second.headers,
        )
    )
    assert team["kpis"]["created"] == 0  # filed before they were moved to the team
    assert team["kpis"]["resolved"] == 1

    for params in ({"team_id": desk.team_one}, {"agent_id": desk.first.id}, {"channel": "web"}):
        response = await client.get(
            f"{API}/metrics/summary", params=params, headers=desk.second.headers
        )
        assert_problem(response, 403)

    agents = ok(await client.get(f"{API}/metrics/agents", headers=desk.second.headers))
    assert [row["agent_id"] for row in agents["agents"]] == [desk.second.id]
    teams = ok(await client.get(f"{API}/metrics/teams", headers=desk.second.headers))
    assert [row["team_id"] for row in teams["teams"]] == [desk.team_two]


async def test_supervisors_see_any_filter_but_one_at_a_time(
    client: AsyncClient, actors: Actors, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    desk = await history(client, actors, sessionmaker)
    headers = desk.supervisor.headers
    first = ok(
        await client.get(
            f"{API}/metrics/summary", params={"agent_id": desk.first.id}, headers=headers
        )
    )
    assert first["kpis"]["resolved"] == 2
    assert first["kpis"]["fcr"]["count"] == 1
    billing = ok(
        await client.get(f"{API}/metrics/summary", params={"category": "billing"}, headers=headers)
    )
    assert billing["kpis"]["first_resolved"] == 2
    both = await client.get(
        f"{API}/metrics/summary",
        params={"agent_id": desk.first.id, "category": "billing"},
        headers=headers,
    )
    assert_problem(both, 422)
    assert_problem(
        await client.get(f"{API}/metrics/summary", params={"tz": "Mars/Base"}, headers=headers), 422
    )
    for far in ({"to": "0001-01-02"}, {"from": "2026-01-01", "to": "9999-12-31T23:59:59"}):
        response = await client.get(f"{API}/metrics/summary", params=far, headers=headers)
        assert_problem(response, 422)
    assert_problem(
        await client.get(
            f"{API}/metrics/summary",
            params={"from": "2026-02-01", "to": "2026-01-01"},
            headers=headers,
        ),
        422,
    )


async def test_two_filters_at_once_are_refused_on_every_filtered_endpoint(
    client: AsyncClient, actors: Actors
) -> None:
    supervisor = await actors.supervisor()
    for path in ("summary", "timeseries", "timeseries.svg"):
        response = await client.get(
            f"{API}/metrics/{path}",
            params={"channel": "web", "tag": "vip"},
            headers=supervisor.headers,
        )
        assert "one dimension at a time" in assert_problem(response, 422)["detail"]
