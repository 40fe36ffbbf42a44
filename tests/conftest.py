"""Fixtures: one migrated database per session, a clean slate per test, an HTTP client
over the real app, and small typed factories."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Environment, Settings
from app.main import create_app
from app.migrations import upgrade_to_head
from app.models import Base
from tests import database
from tests.factories import Actors


@pytest.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    server = await asyncio.to_thread(database.server_url)
    url = await database.create_database(server)
    await asyncio.to_thread(upgrade_to_head, url)
    yield url
    await database.drop_database(url)


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        env=Environment.TEST,
        database_url=database_url,
        # Mail the tests send lands here, never in the developer's var/mailbox.
        data_dir=tmp_path_factory.mktemp("data"),
        rate_limit_per_minute=100_000,
        rate_limit_burst=100_000,
        # Notification tests run delivery workers themselves, against servers they start.
        notification_workers=0,
        # Continuity tests run schedulers themselves; one in the background would move
        # tickets under other tests' feet.
        continuity_scheduler=False,
        sla_watcher=False,
        alert_evaluator=False,
        metrics_compactor=False,
        # Attachment and raw mail files of a test session live and die with it.
        attachment_dir=tmp_path_factory.mktemp("attachments"),
        # Mailbox tests run their pollers themselves, against servers they start.
        inbound_imap=False,
        inbound_addresses=["support@desk.example"],
    )


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
def sessionmaker(app: FastAPI) -> async_sessionmaker[AsyncSession]:
    maker: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    return maker


_TABLES = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)


@pytest.fixture(autouse=True)
async def _clean_slate(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Every test starts from empty tables.

    Tests commit for real (the code under test commits, and concurrency tests need
    separate connections), so isolation is a TRUNCATE afterwards, not a rollback.
    """
    uses_database = {"sessionmaker", "app"} & set(request.fixturenames)
    maker: async_sessionmaker[AsyncSession] | None = (
        request.getfixturevalue("sessionmaker") if uses_database else None
    )
    yield
    if maker is None:
        return
    for attempt in range(5):
        try:
            async with maker() as session:
                await session.execute(text(f"TRUNCATE {_TABLES} RESTART IDENTITY CASCADE"))
                await session.commit()
            return
        except DBAPIError as exc:
            # TRUNCATE locks table by table and can deadlock with the event hub's read
            # of the same tables; PostgreSQL aborts one of them, and we try again.
            if getattr(exc.orig, "sqlstate", None) != "40P01" or attempt == 4:
                raise


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[AsyncClient]:
    transport = ASGITransport(app=app)
    async with AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as db:
        yield db


@pytest.fixture
def actors(sessionmaker: async_sessionmaker[AsyncSession], client: AsyncClient) -> Actors:
    return Actors(sessionmaker, client)
