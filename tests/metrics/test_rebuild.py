"""Tickets filed before the metrics existed: their timelines folded by the rebuild (or by
their next change), once, equal to a recount of the raw events, while the desk runs."""

from __future__ import annotations

import asyncio
import contextlib

from httpx import AsyncClient
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.metrics.backfill import rebuild_all, rebuild_batch, rebuild_in_background
from app.models import (
    MetricRollup,
    MetricRollupDelta,
    MetricTicketFacts,
    Ticket,
    TicketStatus,
    User,
)
from app.tickets.service import move_status
from tests.factories import Actors
from tests.foundation.test_cli import helpdesk
from tests.metrics.helpers import API, Desk, assert_figures_match_recount, history, ok


async def _forget_figures(maker: async_sessionmaker[AsyncSession]) -> None:
    """As before the metrics' migration: no facts, no rollups."""
    async with maker() as session, session.begin():
        for table in (MetricTicketFacts, MetricRollup, MetricRollupDelta):
            await session.execute(delete(table))


async def _facts_rows(maker: async_sessionmaker[AsyncSession]) -> int:
    async with maker() as session:
        return int(await session.scalar(select(func.count()).select_from(MetricTicketFacts)) or 0)


async def test_the_rebuild_folds_older_tickets_once_as_the_timeline_says(
    client: AsyncClient, actors: Actors, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    desk = await history(client, actors, sessionmaker)
    before = await assert_figures_match_recount(client, desk.supervisor.headers, sessionmaker)
    await _forget_figures(sessionmaker)

    assert await rebuild_all(sessionmaker, size=3) == 4  # two batches and an empty one
    after = await assert_figures_match_recount(client, desk.supervisor.headers, sessionmaker)
    assert after == before
    assert await rebuild_all(sessionmaker) == 0
    assert await assert_figures_match_recount(client, desk.supervisor.headers, sessionmaker) == (
        before
    )


async def test_a_change_to_an_older_ticket_folds_its_history_first(
    client: AsyncClient, actors: Actors, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    desk = await history(client, actors, sessionmaker)
    await _forget_figures(sessionmaker)
    four = desk.tickets[3]
    await _resolve(sessionmaker, desk, four)

    assert await _facts_rows(sessionmaker) == 1
    summary = await client.get(f"{API}/metrics/summary", headers=desk.supervisor.headers)
    kpis = ok(summary)["kpis"]
    assert (kpis["created"], kpis["resolved"], kpis["complaints"]) == (1, 1, 1)
    assert await rebuild_all(sessionmaker) == 3
    await assert_figures_match_recount(client, desk.supervisor.headers, sessionmaker)


async def _resolve(
    maker: async_sessionmaker[AsyncSession],
    desk: Desk,
    ticket_id: int,
    recorded: asyncio.Event | None = None,
    go: asyncio.Event | None = None,
) -> None:
    """A change on a ticket, its transaction held open until `go` when given."""
    async with maker() as session, session.begin():
        ticket = await session.get(Ticket, ticket_id, with_for_update=True)
        actor = await session.get(User, desk.supervisor.id)
        assert ticket is not None
        assert actor is not None
        await move_status(session, ticket, TicketStatus.RESOLVED, actor=actor)
        if recorded is not None and go is not None:
            recorded.set()
            await go.wait()


async def test_a_change_while_the_rebuild_runs_is_counted_once_either_way(
    client: AsyncClient, actors: Actors, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    desk = await history(client, actors, sessionmaker)
    headers = desk.supervisor.headers
    await _forget_figures(sessionmaker)
    three, four = desk.tickets[2], desk.tickets[3]

    # The change first: its reaction folds the ticket's history and inserts the row; the
    # rebuild, which read the timeline without the change, waits on that row, then
    # leaves it.
    recorded, go = asyncio.Event(), asyncio.Event()
    change = asyncio.create_task(_resolve(sessionmaker, desk, four, recorded, go))
    await recorded.wait()
    rebuild = asyncio.create_task(rebuild_all(sessionmaker))
    await asyncio.sleep(0.5)
    assert not rebuild.done()  # waiting on the change's row
    go.set()
    await change
    assert await rebuild == 3
    await assert_figures_match_recount(client, headers, sessionmaker)

    # The rebuild first: its row is there (uncommitted) when the change's reaction finds
    # none and tries to insert its own; it waits, then folds the change onto the
    # rebuild's row.
    await _forget_figures(sessionmaker)
    async with sessionmaker() as session, session.begin():
        assert await rebuild_batch(session) == (4, 4, four)
        change = asyncio.create_task(_resolve(sessionmaker, desk, three))
        await asyncio.sleep(0.5)
        assert not change.done()  # waiting on the rebuild's row
    await change
    assert await rebuild_all(sessionmaker) == 0
    kpis = await assert_figures_match_recount(client, headers, sessionmaker)
    assert kpis["resolved"] == 5  # the history's three, then four, then three again


async def test_the_command_folds_and_says_how_many(
    client: AsyncClient,
    actors: Actors,
    sessionmaker: async_sessionmaker[AsyncSession],
    database_url: str,
) -> None:
    desk = await history(client, actors, sessionmaker)
    await _forget_figures(sessionmaker)

    outcome = await helpdesk("metrics", "rebuild", HELPDESK_DATABASE_URL=database_url)

    assert outcome.code == 0, outcome.stderr
    assert outcome.stdout.strip().splitlines()[-1].startswith("helpdesk: 4 ticket(s)")
    await assert_figures_match_recount(client, desk.supervisor.headers, sessionmaker)
    again = await helpdesk("metrics", "rebuild", HELPDESK_DATABASE_URL=database_url)
    assert again.stdout.strip().splitlines()[-1].startswith("helpdesk: 0 ticket(s)")


async def test_the_background_process_folds_them_at_start_then_idles(
    client: AsyncClient, actors: Actors, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    desk = await history(client, actors, sessionmaker)
    await _forget_figures(sessionmaker)

    task = asyncio.create_task(rebuild_in_background(sessionmaker))
    try:
        for _ in range(100):
            if await _facts_rows(sessionmaker) == 4:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.2)
        assert not task.done()  # idle, not ended: the process's tasks end together
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await assert_figures_match_recount(client, desk.supervisor.headers, sessionmaker)
