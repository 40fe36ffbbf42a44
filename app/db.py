"""The database: engine, one session per request, and the unit of work that commits it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.config import Settings

# Connections older than this are replaced at checkout: a slow turnover that also
# bounds each backend's memory (plan and catalog caches) and outlives no firewall.
POOL_RECYCLE_SECONDS = 1800


def create_engine(settings: Settings, url: str) -> AsyncEngine:
    # No pool_pre_ping: it cost a round trip per request. A connection that died (the
    # server restarted) fails its first statement instead; SQLAlchemy then discards
    # every pooled connection older than that moment, so one request per process gets
    # a 503 (app/errors.py) and the next ones reconnect.
    return create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_recycle=POOL_RECYCLE_SECONDS,
        # No JIT: the service's statements run in milliseconds, and a plan whose cost
        # estimate crosses jit_above_cost (a search over a million tickets can) would
        # spend hundreds of milliseconds compiling for nothing (0.7 s measured, SLA
        # watcher at 1M tickets).
        connect_args={"server_settings": {"application_name": "helpdesk", "jit": "off"}},
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # Objects stay readable after commit so routers can shape responses from them.
    return async_sessionmaker(engine, expire_on_commit=False)


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request and ONE commit, made before the response is sent.

    Services flush and never commit. Declared with scope="function" (below) so the
    commit runs before FastAPI sends the response: a failed commit becomes an error
    response, never a 2xx followed by a lost write.
    """
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with sessionmaker() as session:
        yield session
        if session.in_transaction():
            await session.commit()


DbSession = Annotated[AsyncSession, Depends(_request_session, scope="function")]


def asyncpg_connect_args(url: str) -> dict[str, Any]:
    """Keyword arguments for asyncpg.connect from a SQLAlchemy URL (unix sockets included)."""
    parsed = make_url(url)
    args: dict[str, Any] = {
        "user": parsed.username,
        "password": parsed.password,
        "database": parsed.database,
        "host": parsed.query.get("host") or parsed.host,
        "port": parsed.port or parsed.query.get("port"),
    }
    return {key: value for key, value in args.items() if value is not None}
