"""Which process polls which mailbox: exactly one, across every process and host.

Each process looks at the active mailboxes now and then; for one nobody polls, it
tries a session advisory lock on a connection of its own and, holding it, runs the
mailbox's poller. The lock lives as long as that connection: a process that dies
frees its mailboxes for another at once. A mailbox changed through the API is
restarted with its new settings; a deleted or deactivated one is stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.db import asyncpg_connect_args
from app.inbound.mailboxes import secrets
from app.inbound.mailboxes.client import Login
from app.inbound.mailboxes.poller import MailboxPoller, Polling
from app.inbound.pipeline import Intake
from app.models import Mailbox

logger = logging.getLogger(__name__)

LOCK_NAMESPACE = 0x6D61696C  # "mail": the first key of every mailbox lock
LOOK_EVERY_SECONDS = 30.0


@dataclass
class _Running:
    updated_at: datetime
    task: asyncio.Task[None]
    lock: asyncpg.Connection
    poller: MailboxPoller


class MailboxSupervisor:
    def __init__(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        database_url: str,
        intake: Intake,
        *,
        verify_tls: bool = True,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.connect_args = asyncpg_connect_args(database_url)
        self.intake = intake
        self.verify_tls = verify_tls
        self.running: dict[int, _Running] = {}
        self.polling = Polling(
            settings.inbound_imap_poll_seconds, settings.inbound_imap_idle_seconds
        )

    async def run(self) -> None:
        try:
            while True:
                try:
                    await self.look()
                except Exception:  # the database is away: try again on the next look
                    logger.warning("cannot look at the mailboxes now", exc_info=True)
                await asyncio.sleep(LOOK_EVERY_SECONDS)
        finally:
            await self.stop_all()

    async def look(self) -> None:
        """Start pollers for the mailboxes nobody polls; stop those gone or changed."""
        async with self.sessionmaker() as session:
            mailboxes = {
                m.id: m for m in await session.scalars(select(Mailbox).where(Mailbox.active))
            }
        for mailbox_id, running in list(self.running.items()):
            mailbox = mailboxes.get(mailbox_id)
            changed = mailbox is None or mailbox.updated_at != running.updated_at
            if changed or running.task.done() or running.lock.is_closed():
                await self._stop(mailbox_id)
        for mailbox_id, mailbox in mailboxes.items():
            if mailbox_id not in self.running:
                await self._try_start(mailbox)

    async def _try_start(self, mailbox: Mailbox) -> None:
        lock = await asyncpg.connect(**self.connect_args, timeout=10)
        try:
            taken = await lock.fetchval(
                "SELECT pg_try_advisory_lock($1, $2)", LOCK_NAMESPACE, mailbox.id
            )
        except BaseException:
            await lock.close()
            raise
        if not taken:
            await lock.close()  # another process polls it
            return
        secret = secrets.unseal(
            self.settings.secret_key.get_secret_value(), mailbox.name, mailbox.secret_sealed
        )
        login = Login(
            mailbox.host,
            mailbox.port,
            mailbox.security,
            mailbox.username,
            mailbox.auth,
            secret,
            mailbox.folder,
            verify_tls=self.verify_tls,
        )
        poller = MailboxPoller(mailbox, login, self.intake, self.sessionmaker, self.polling)
        task = asyncio.create_task(poller.run(), name=f"mailbox-{mailbox.id}")
        self.running[mailbox.id] = _Running(mailbox.updated_at, task, lock, poller)
        logger.info("polling mailbox %s (%s)", mailbox.id, mailbox.name)

    async def _stop(self, mailbox_id: int) -> None:
        running = self.running.pop(mailbox_id)
        running.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await running.task
        with contextlib.suppress(Exception):
            await running.lock.close()  # frees the lock for whoever looks next

    async def stop_all(self) -> None:
        for mailbox_id in list(self.running):
            await self._stop(mailbox_id)


@contextlib.asynccontextmanager
async def polling_mailboxes(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    database_url: str,
    intake: Intake,
) -> AsyncIterator[MailboxSupervisor]:
    supervisor = MailboxSupervisor(settings, sessionmaker, database_url, intake)
    task = asyncio.create_task(supervisor.run(), name="mailbox-supervisor")
    try:
        yield supervisor
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
