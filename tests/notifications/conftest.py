"""A real SMTP server on a free loopback port, and delivery workers pointed at it."""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.notifications.setup import make_worker
from app.notifications.worker import DeliveryWorker
from tests.live.conftest import free_port


@dataclass
class RecordingHandler:
    """Keeps every message the server accepts; can be told to refuse for a while."""

    messages: list[EmailMessage] = field(default_factory=list)
    refuse: bool = False
    delay: float = 0.0  # seconds before accepting each message
    sessions: int = 0  # SMTP connections that said EHLO

    async def handle_EHLO(  # noqa: N802
        self, _server: Any, session: Any, _envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        self.sessions += 1
        return responses

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.refuse:
            return "451 4.3.0 try again later"
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]


@dataclass
class SmtpServer:
    handler: RecordingHandler
    port: int
    controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        """The server goes away: open connections are dropped, new ones refused."""
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp_server() -> Any:
    server = SmtpServer(RecordingHandler(), free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mail_settings(settings: Settings, smtp_server: SmtpServer) -> Settings:
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_server.port,
            "smtp_security": "none",
            "smtp_timeout_seconds": 5,
        }
    )


@pytest.fixture
async def worker(
    mail_settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], database_url: str
) -> AsyncIterator[DeliveryWorker]:
    async with httpx.AsyncClient() as http:
        yield make_worker(mail_settings, sessionmaker, database_url, http)


async def settle() -> None:
    await asyncio.sleep(0)
