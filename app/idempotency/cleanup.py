"""Forgetting stored responses once their 24 h are over."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.idempotency.guard import delete_expired


async def purge_expired(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    total = 0
    while True:
        async with sessionmaker() as session, session.begin():
            deleted = await delete_expired(session)
        total += deleted
        if deleted == 0:
            return total
