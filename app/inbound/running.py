"""Running the receivers in a process: the SMTP/LMTP receiver (when a port is set) and
the IMAP pollers (when enabled). `helpdesk background` (serve's child), `helpdesk
mail-receiver`, and an API process with inline background work use this."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.attachments.setup import store_from_settings
from app.config import Settings
from app.inbound.setup import email_intake
from app.inbound.smtp import receiving


@contextlib.asynccontextmanager
async def running_receivers(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], database_url: str
) -> AsyncIterator[None]:
    intake = email_intake(settings, store_from_settings(settings))
    async with contextlib.AsyncExitStack() as stack:
        if settings.inbound_smtp_port:
            await stack.enter_async_context(receiving(settings, sessionmaker, intake))
        if settings.inbound_imap:
            from app.inbound.mailboxes.supervisor import polling_mailboxes

            await stack.enter_async_context(
                polling_mailboxes(settings, sessionmaker, database_url, intake)
            )
        yield
