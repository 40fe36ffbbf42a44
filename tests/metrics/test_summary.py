"""The summary: a known history gives known figures, and the same figures as a plain
recount of the raw timeline."""

from __future__ import annotations

from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.metrics.compaction import compact_all
from app.models import MetricRollupDelta
from tests.factories import Actors
from tests.metrics.helpers import API, assert_figures_match_recount, history, ok
from tests.metrics.recompute import recount


async def test_known_history_gives_known_figures(
    client: AsyncClient, actors: Actors, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    desk = await history(client, actors, sessionmaker)
    body = ok(await client.get(f"{API}/metrics/summary", headers=desk.supervisor.headers))
    kpis = body["kpis"]
    assert kpis["created"] == 4
    assert kpis["resolved"] == 3
    assert kpis["first_resolved"] == 3
    assert kpis["fcr"] == {"count": 1, "of": 3, "rate": 0.3333}
    # the low rating reopens ticket two (app/feedback), the customer's reply ticket three
    assert kpis["reopen"] == {"count": 2, "of": 3, "rate": 0.6667}
    assert kpis["csat"]["answered"] == 2
    assert kpis["csat"]["positive"] == 1
    assert kpis["csat"]["rate"] == 0.5
    assert kpis["csat"]["surveys_sent"] == 3
    assert kpis["first_response_time"]["count"] == 3
    assert kpis["next_response_time"]["count"] == 1
    assert kpis["handovers"] == 1
    assert body["handovers_by_reason"] == {"manual": 1}
    assert kpis["complaints"] == 1
    assert body["complaints_by_category"] == {"tech": 1}
    assert body["backlog_at_end"] == 3
    assert body["backlog_at_start"] == 0


async def test_every_figure_matches_a_recount_of_the_timeline(
    client: AsyncClient, actors: Actors, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    desk = await history(client, actors, sessionmaker)
    await assert_figures_match_recount(client, desk.supervisor.headers, sessionmaker)
    async with sessionmaker() as session:
        truth = await recount(session)
    agents = ok(await client.get(f"{API}/metrics/agents", headers=desk.supervisor.headers))
    handled = {row["agent_id"]: row["handled"] for row in agents["agents"] if row["handled"]}
    assert handled == dict(truth.handled)


async def test_compacting_the_deltas_changes_no_figure(
    client: AsyncClient, actors: Actors, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    desk = await history(client, actors, sessionmaker)
    headers = desk.supervisor.headers
    before = ok(await client.get(f"{API}/metrics/summary", headers=headers))
    teams = ok(await client.get(f"{API}/metrics/teams", headers=headers))
    assert await compact_all(sessionmaker) > 0
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(MetricRollupDelta)) == 0
    assert ok(await client.get(f"{API}/metrics/summary", headers=headers)) == before
    assert ok(await client.get(f"{API}/metrics/teams", headers=headers)) == teams
