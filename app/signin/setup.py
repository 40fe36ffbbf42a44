"""Wiring sign-in into a process: its settings and wording, and the mailer that turns
queued requests into links (run wherever notifications are delivered)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.common.periodic import every
from app.config import Settings
from app.signin import config, notices
from app.signin.service import BATCH, mail_pending_links


def configure(settings: Settings) -> None:
    config.configure(settings)
    notices.register()


async def mail_links(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """Every queued request, batch by batch; returns how many were taken."""
    taken = 0
    while True:
        async with sessionmaker() as session, session.begin():
            batch = await mail_pending_links(session, datetime.now(UTC))
        taken += batch
        if batch < BATCH:
            return taken


async def run_mailer(sessionmaker: async_sessionmaker[AsyncSession], interval: float) -> None:
    """Until cancelled. Several processes may run it: each takes different requests."""
    await every(interval, lambda: mail_links(sessionmaker), "mailing sign-in links")
