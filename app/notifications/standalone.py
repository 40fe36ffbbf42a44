"""`helpdesk worker`: delivery workers in a process of their own."""

from __future__ import annotations

import asyncio

from app.config import Settings
from app.db import create_engine, create_sessionmaker
from app.notifications.setup import configure_outbox, running_workers


async def run_workers(settings: Settings, database_url: str, count: int) -> None:
    configure_outbox(settings)
    engine = create_engine(settings, database_url)
    try:
        async with running_workers(settings, create_sessionmaker(engine), database_url, count):
            await asyncio.Event().wait()  # until the process is told to stop
    finally:
        await engine.dispose()
