"""The real outside world an alert reaches: an HTTP receiver for its webhooks (with the
service allowed to target loopback) and an SMTP server for its mail; and no rule but
the test's own."""

from __future__ import annotations

import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import AlertRule
from tests.notifications.conftest import smtp_server
from tests.webhooks.conftest import hook_app, hook_client, hook_settings, http, receiver


@pytest.fixture(autouse=True)
async def _no_default_rules(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """The rules a fresh install ships (the migration seeds them) would fire too."""
    async with sessionmaker() as session, session.begin():
        await session.execute(delete(AlertRule))


__all__ = ["hook_app", "hook_client", "hook_settings", "http", "receiver", "smtp_server"]
