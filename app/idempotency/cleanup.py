"""Forgetting stored responses once their 24 h are over."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.idempotency.guard import delete_expired

logger = logging.getLogger(__name__)


async def purge_expired(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    total = 0
    while True:
        async with sessionmaker() as session, session.begin():
            deleted = await delete_expired(session)
        total += deleted
        if deleted == 0:
            return total


async def purge_periodically(
    sessionmaker: async_sessionmaker[AsyncSession], interval_seconds: float
) -> None:
    while True:
        try:
            await purge_expired(sessionmaker)
        except Exception:  # a failed sweep is retried on the next tick
            logger.exception("purging expired idempotency records failed")
        await asyncio.sleep(interval_seconds)
