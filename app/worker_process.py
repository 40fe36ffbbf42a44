"""`helpdesk worker` and `helpdesk mail-receiver`: delivery workers, or the mail
receivers, in a process of their own."""

from __future__ import annotations

import asyncio

from app import wiring
from app.config import Settings
from app.db import create_engine
from app.inbound.running import running_receivers
from app.notifications.setup import running_workers
from app.signin.setup import run_mailer


async def run_workers(settings: Settings, database_url: str, count: int) -> None:
    wiring.configure(settings)
    engine = create_engine(settings, database_url)
    sessionmaker = wiring.sessionmaker_for(engine)
    try:
        async with running_workers(settings, sessionmaker, database_url, count):
            # Sign-in links are minted where notifications are delivered; this runs
            # until the process is told to stop.
            await run_mailer(sessionmaker, settings.notification_poll_interval_seconds)
    finally:
        await engine.dispose()


async def run_mail_receiver(settings: Settings, database_url: str) -> None:
    """`helpdesk mail-receiver`: the SMTP/LMTP receiver and the IMAP pollers."""
    wiring.configure(settings)
    engine = create_engine(settings, database_url)
    try:
        async with running_receivers(settings, wiring.sessionmaker_for(engine), database_url):
            await asyncio.Event().wait()  # until the process is told to stop
    finally:
        await engine.dispose()
