"""The scheduler inside the service: at once when woken, and one at a time."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
from httpx import AsyncClient

from app.continuity.scheduler import ContinuityScheduler
from app.db import asyncpg_connect_args
from app.models import AssignmentMode
from tests.continuity.helpers import (
    Maker,
    assign,
    away,
    days_from_now,
    file_ticket,
    owner_id,
    set_active,
)
from tests.factories import Actor, Actors, make_team


@contextlib.asynccontextmanager
async def running(scheduler: ContinuityScheduler) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(scheduler.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "did not happen in time"
        await asyncio.sleep(0.05)


async def test_a_sick_day_starting_now_hands_over_at_once(
    client: AsyncClient, actors: Actors, sessionmaker: Maker, database_url: str
) -> None:
    supervisor, marco, anna = await actors.supervisor(), await actors.agent(), await actors.agent()
    ticket = await file_ticket(client, supervisor)
    await assign(client, supervisor, ticket["id"], marco.id)
    # An hour between runs: only the wake-up can explain a handover within seconds.
    scheduler = ContinuityScheduler(sessionmaker, database_url, interval=3600, batch_size=10)
    async with running(scheduler):
        await asyncio.wait_for(scheduler.leading.wait(), 5)
        await eventually(lambda: _ran(scheduler, 1))

        await away(
            client,
            marco,
            marco.id,
            reason="sick_leave",
            ends_at=days_from_now(1),
            backup_id=anna.id,
        )

        await eventually(lambda: _owned_by(client, supervisor, ticket["id"], anna.id))


async def test_a_deactivation_hands_over_at_once(
    client: AsyncClient, actors: Actors, sessionmaker: Maker, database_url: str
) -> None:
    admin, leaver, anna = await actors.admin(), await actors.agent(), await actors.agent()
    team = await make_team(
        sessionmaker, member_ids=[leaver.id, anna.id], assignment=AssignmentMode.ROUND_ROBIN
    )
    ticket = await file_ticket(client, admin, team_id=team)
    await assign(client, admin, ticket["id"], leaver.id)
    scheduler = ContinuityScheduler(sessionmaker, database_url, interval=3600, batch_size=10)
    async with running(scheduler):
        await asyncio.wait_for(scheduler.leading.wait(), 5)

        await set_active(client, admin, leaver.id, False)

        await eventually(lambda: _owned_by(client, admin, ticket["id"], anna.id))


async def test_two_schedulers_one_runs_and_the_other_takes_over_when_it_dies(
    sessionmaker: Maker, database_url: str
) -> None:
    first = ContinuityScheduler(sessionmaker, database_url, interval=0.1, batch_size=10)
    second = ContinuityScheduler(sessionmaker, database_url, interval=0.1, batch_size=10)
    async with running(first), running(second):
        await eventually(_async(lambda: first.is_leader or second.is_leader))
        await asyncio.sleep(0.5)  # time enough for a second leader, if the lock let one in
        assert [first.is_leader, second.is_leader].count(True) == 1
        leader, standby = (first, second) if first.is_leader else (second, first)
        standby_runs = standby.runs

        # The leader's process dies: its connection goes, and the lock with it.
        pid = leader.backend_pid
        assert pid is not None
        admin = await asyncpg.connect(**asyncpg_connect_args(database_url))
        try:
            await admin.execute("SELECT pg_terminate_backend($1)", pid)
        finally:
            await admin.close()

        await eventually(_async(lambda: standby.is_leader))
        await eventually(_async(lambda: standby.runs > standby_runs))
        assert standby_runs == 0
        await asyncio.sleep(0.5)
        assert [first.is_leader, second.is_leader].count(True) == 1


def _async(check: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    async def wrapped() -> bool:
        return check()

    return wrapped


async def _ran(scheduler: ContinuityScheduler, times: int) -> bool:
    return scheduler.runs >= times


async def _owned_by(client: AsyncClient, actor: Actor, ticket_id: int, expected: int) -> bool:
    return await owner_id(client, actor, ticket_id) == expected
