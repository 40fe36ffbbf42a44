"""`helpdesk worker`: delivery workers in a process of their own."""

from __future__ import annotations

import asyncio

import app.continuity.wording  # noqa: F401 - registers how continuity notices read
from app.config import Settings
from app.db import create_engine, create_sessionmaker
from app.feedback.setup import configure as configure_feedback
from app.notifications.setup import configure_outbox, running_workers


async def run_workers(settings: Settings, database_url: str, count: int) -> None:
    configure_outbox(settings)
    configure_feedback(settings)  # survey links and feedback wording in emails
    engine = create_engine(settings, database_url)
    try:
        async with running_workers(settings, create_sessionmaker(engine), database_url, count):
            await asyncio.Event().wait()  # until the process is told to stop
    finally:
        await engine.dispose()
