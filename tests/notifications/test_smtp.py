"""The mail server as the worker meets it: connections reused, outages ridden out."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.models import DeliveryStatus, NotificationDelivery
from app.notifications.setup import make_worker
from app.notifications.worker import DeliveryWorker
from tests.factories import Actors
from tests.notifications.conftest import SmtpServer

Maker = async_sessionmaker[AsyncSession]


async def _file_tickets(actors: Actors, count: int) -> None:
    for _ in range(count):
        customer = await actors.customer()
        response = await actors.client.post(
            "/api/v1/tickets",
            json={"subject": "Help", "description": "d"},
            headers=customer.headers,
        )
        assert response.status_code == 201, response.text


async def _statuses(sessionmaker: Maker) -> Counter[str]:
    async with sessionmaker() as session:
        rows = await session.execute(
            select(NotificationDelivery.status, func.count()).group_by(NotificationDelivery.status)
        )
        return Counter({status.value: count for status, count in rows})


async def _make_due(sessionmaker: Maker) -> None:
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(NotificationDelivery)
            .where(NotificationDelivery.status == DeliveryStatus.PENDING)
            .values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1))
        )


async def test_each_sender_keeps_one_connection_for_many_messages(
    actors: Actors, worker: DeliveryWorker, smtp_server: SmtpServer
) -> None:
    await _file_tickets(actors, 30)
    assert await worker.run_until_idle() == 30
    assert len(smtp_server.handler.messages) == 30
    # Four senders: at most four connections, not one per message.
    assert 1 <= smtp_server.handler.sessions <= 4


async def test_a_mail_server_down_for_a_while_loses_nothing_and_kills_nothing(
    actors: Actors, worker: DeliveryWorker, smtp_server: SmtpServer, sessionmaker: Maker
) -> None:
    await _file_tickets(actors, 3)
    assert await worker.run_until_idle() == 3  # the connections are now open and idle
    smtp_server.stop()
    await _file_tickets(actors, 5)
    for _ in range(3):  # every attempt while it is down fails, and is retried later
        await worker.run_until_idle()
        await _make_due(sessionmaker)
    assert await _statuses(sessionmaker) == Counter({"delivered": 3, "pending": 5})
    async with sessionmaker() as session:
        waiting = (
            await session.scalars(
                select(NotificationDelivery).where(
                    NotificationDelivery.status == DeliveryStatus.PENDING
                )
            )
        ).all()
    assert {d.attempts for d in waiting} == {3}
    assert all(d.last_error for d in waiting)

    smtp_server.start()  # back, on the same port; the old connections are gone
    await worker.run_until_idle()
    assert await _statuses(sessionmaker) == Counter({"delivered": 8})
    ids = Counter(str(m["Message-ID"]) for m in smtp_server.handler.messages)
    assert len(ids) == 8
    assert set(ids.values()) == {1}


async def test_rows_waiting_in_a_long_batch_keep_their_lease(
    actors: Actors,
    mail_settings: Settings,
    sessionmaker: Maker,
    database_url: str,
    smtp_server: SmtpServer,
) -> None:
    await _file_tickets(actors, 4)
    smtp_server.handler.delay = 0.4
    slow_settings = mail_settings.model_copy(
        update={"notification_concurrency": 1, "notification_lease_seconds": 0.6}
    )
    async with httpx.AsyncClient() as http:
        slow = make_worker(slow_settings, sessionmaker, database_url, http)
        other = make_worker(mail_settings, sessionmaker, database_url, http)
        sending = asyncio.create_task(slow.run_until_idle())
        while await _statuses(sessionmaker) != Counter({"sending": 4}):  # noqa: ASYNC110
            await asyncio.sleep(0.01)  # until the slow worker has claimed all four
        stolen = 0
        while not sending.done():  # the last row waits ~1.2 s, twice its lease
            stolen += await other.run_until_idle()
            await asyncio.sleep(0.05)
        assert await sending == 4
    assert stolen == 0
    assert len(smtp_server.handler.messages) == 4
    assert await _statuses(sessionmaker) == Counter({"delivered": 4})
