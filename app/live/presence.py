"""Staff on the live channel, written down where every process can read it: a row per
staff connection in `live_presence`, refreshed while the connection lives and deleted
when it ends. A process that dies without cleaning up leaves rows that go stale
(`PRESENCE_FRESH_SECONDS`), so readers never count a ghost for long."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import PRESENCE_FRESH_SECONDS, LivePresence

logger = logging.getLogger(__name__)
REFRESH_SECONDS = PRESENCE_FRESH_SECONDS / 3


async def _mark(maker: async_sessionmaker[AsyncSession], connection_id: str, user_id: int) -> None:
    statement = pg_insert(LivePresence).values(
        connection_id=connection_id, user_id=user_id, last_seen_at=datetime.now(UTC)
    )
    async with maker() as session, session.begin():
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["connection_id"],
                set_={"last_seen_at": statement.excluded.last_seen_at},
            )
        )


async def _refresh(
    maker: async_sessionmaker[AsyncSession], connection_id: str, user_id: int
) -> None:
    while True:
        await asyncio.sleep(REFRESH_SECONDS)
        try:
            await _mark(maker, connection_id, user_id)
        except Exception:  # the database is away for a moment: the next round tries again
            logger.warning("live presence not refreshed", exc_info=True)


@contextlib.asynccontextmanager
async def present(
    maker: async_sessionmaker[AsyncSession], connection_id: str, user_id: int
) -> AsyncIterator[None]:
    await _mark(maker, connection_id, user_id)
    task = asyncio.create_task(_refresh(maker, connection_id, user_id))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        with contextlib.suppress(Exception):
            async with maker() as session, session.begin():
                await session.execute(
                    delete(LivePresence).where(LivePresence.connection_id == connection_id)
                )
