"""A continuity scheduler to run by hand, and a delivery worker writing to a mailbox of
the test's own."""

from __future__ import annotations

import email
import email.policy
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.continuity.scheduler import ContinuityScheduler
from app.models import DeliveryStatus, NotificationDelivery
from app.notifications.setup import make_worker
from app.notifications.worker import DeliveryWorker


@pytest.fixture
def scheduler(
    sessionmaker: async_sessionmaker[AsyncSession], database_url: str
) -> ContinuityScheduler:
    """Not started: tests call run_once() where the service would run it every minute."""
    return ContinuityScheduler(sessionmaker, database_url, interval=60, batch_size=4)


@dataclass
class Mailbox:
    settings: Settings
    worker: DeliveryWorker
    sessionmaker: async_sessionmaker[AsyncSession]

    @property
    def directory(self) -> Path:
        return self.settings.mailbox_dir

    async def deliver(self) -> int:
        """Send everything waiting, the coalescing window notwithstanding."""
        async with self.sessionmaker() as session, session.begin():
            await session.execute(
                update(NotificationDelivery)
                .where(NotificationDelivery.status == DeliveryStatus.PENDING)
                .values(next_attempt_at=func.now())
            )
        return await self.worker.run_until_idle()

    def messages_to(self, address: str) -> list[EmailMessage]:
        folder = self.directory / address
        messages = []
        for path in sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns):
            parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            assert isinstance(parsed, EmailMessage)
            messages.append(parsed)
        return messages

    def texts_to(self, address: str) -> list[str]:
        texts = []
        for message in self.messages_to(address):
            part = message.get_body(preferencelist=("plain",))
            assert part is not None
            texts.append(part.get_content())
        return texts


@pytest.fixture
async def mailbox(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    database_url: str,
    tmp_path: Path,
) -> AsyncIterator[Mailbox]:
    own = settings.model_copy(update={"data_dir": tmp_path})
    async with httpx.AsyncClient() as http:
        yield Mailbox(own, make_worker(own, sessionmaker, database_url, http), sessionmaker)
