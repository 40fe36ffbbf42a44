"""Sending a dead delivery again by hand: a fresh round of attempts, at once."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.models import DeliveryStatus, NotificationDelivery
from app.notifications.setup import make_worker
from app.notifications.worker import DeliveryWorker
from tests.factories import Actors
from tests.notifications.conftest import SmtpServer

Maker = async_sessionmaker[AsyncSession]


async def _the_delivery(sessionmaker: Maker) -> NotificationDelivery:
    async with sessionmaker() as session:
        [delivery] = (await session.scalars(select(NotificationDelivery))).all()
        return delivery


async def _set(sessionmaker: Maker, **values: object) -> None:
    async with sessionmaker() as session, session.begin():
        await session.execute(update(NotificationDelivery).values(**values))


async def _file(actors: Actors) -> None:
    customer = await actors.customer()
    response = await actors.client.post(
        "/api/v1/tickets", json={"subject": "Help", "description": "d"}, headers=customer.headers
    )
    assert response.status_code == 201, response.text


async def test_after_a_manual_retry_the_backoff_starts_again_from_the_shortest_delay(
    actors: Actors, worker: DeliveryWorker, smtp_server: SmtpServer, sessionmaker: Maker
) -> None:
    supervisor = await actors.supervisor()
    smtp_server.handler.refuse = True
    await _file(actors)
    await _set(sessionmaker, max_attempts=5)
    for _ in range(5):
        await worker.run_until_idle()
        await _set(sessionmaker, next_attempt_at=datetime.now(UTC) - timedelta(seconds=1))
    dead = await _the_delivery(sessionmaker)
    assert (dead.status, dead.attempts) == (DeliveryStatus.DEAD, 5)

    retried = await actors.client.post(
        f"/api/v1/notifications/{dead.id}/retry", headers=supervisor.headers
    )
    assert retried.status_code == 200, retried.text
    assert retried.json()["max_attempts"] == 5 + 8  # one fresh round, not a doubled budget
    await worker.run_until_idle()  # the mail server still refuses
    again = await _the_delivery(sessionmaker)
    assert (again.status, again.attempts) == (DeliveryStatus.PENDING, 6)
    wait = again.next_attempt_at - datetime.now(UTC)
    # The first retry of a round: ~30 s (with jitter), not the 6th attempt's 16 minutes.
    assert timedelta(seconds=20) < wait < timedelta(seconds=40), wait


async def test_a_retried_delivery_goes_out_at_once_without_waiting_for_a_poll(
    actors: Actors,
    mail_settings: Settings,
    smtp_server: SmtpServer,
    sessionmaker: Maker,
    database_url: str,
) -> None:
    supervisor = await actors.supervisor()
    smtp_server.handler.refuse = True
    await _file(actors)
    await _set(sessionmaker, max_attempts=1)
    # A worker that would poll only once a minute: only a notification wakes it sooner.
    lazy = mail_settings.model_copy(update={"notification_poll_interval_seconds": 60})
    async with httpx.AsyncClient() as http:
        worker = make_worker(lazy, sessionmaker, database_url, http)
        running = asyncio.create_task(worker.run())
        try:
            deadline = time.monotonic() + 10
            while (await _the_delivery(sessionmaker)).status is not DeliveryStatus.DEAD:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
            smtp_server.handler.refuse = False
            delivery = await _the_delivery(sessionmaker)
            retried = await actors.client.post(
                f"/api/v1/notifications/{delivery.id}/retry", headers=supervisor.headers
            )
            assert retried.status_code == 200, retried.text
            deadline = time.monotonic() + 5
            while not smtp_server.handler.messages:
                assert time.monotonic() < deadline, "the retry waited for the next poll"
                await asyncio.sleep(0.05)
        finally:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
    assert (await _the_delivery(sessionmaker)).status is DeliveryStatus.DELIVERED
