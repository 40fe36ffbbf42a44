"""Feedback fixtures: a file mailbox with a delivery worker, and anonymous clients."""

from __future__ import annotations

import email
import email.policy
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.models import DeliveryStatus, NotificationDelivery
from app.notifications.setup import make_worker
from app.notifications.worker import DeliveryWorker

_addresses = itertools.count(1)


class Mailbox:
    """The file mailbox a worker writes to: deliver what is waiting, then read it."""

    def __init__(
        self, directory: Path, worker: DeliveryWorker, maker: async_sessionmaker[AsyncSession]
    ) -> None:
        self.directory = directory
        self.worker = worker
        self.maker = maker

    async def deliver(self) -> int:
        # Fast-forward the coalescing window: everything waiting is due now.
        async with self.maker() as session, session.begin():
            await session.execute(
                update(NotificationDelivery)
                .where(NotificationDelivery.status == DeliveryStatus.PENDING)
                .values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1))
            )
        return await self.worker.run_until_idle()

    def to(self, address: str) -> list[EmailMessage]:
        """What the address received, in the order written (messages written by one
        `deliver` are sent concurrently: their order among themselves is not defined)."""
        folder = self.directory / address
        messages = []
        for path in sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns):
            parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            assert isinstance(parsed, EmailMessage)
            messages.append(parsed)
        return messages


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


@pytest.fixture
async def mailbox(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    database_url: str,
    tmp_path: Path,
) -> AsyncIterator[Mailbox]:
    mail_settings = settings.model_copy(update={"data_dir": tmp_path})
    async with httpx.AsyncClient() as http:
        worker = make_worker(mail_settings, sessionmaker, database_url, http)
        yield Mailbox(mail_settings.mailbox_dir, worker, sessionmaker)


@pytest.fixture
async def anonymous(app: FastAPI) -> AsyncIterator[AsyncClient]:
    """A client with no token, from an address of its own (the survey link is limited
    per client address, and the app lives for the whole session)."""
    n = next(_addresses)
    address = f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
    transport = ASGITransport(app=app, client=(address, 40000))
    async with AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
