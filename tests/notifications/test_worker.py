"""Delivery workers: leases, crashes and concurrency."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.models import DeliveryStatus, NotificationDelivery
from app.notifications.channels.base import Outcome
from app.notifications.setup import make_worker
from app.notifications.worker import DeliveryWorker
from tests.factories import Actors
from tests.notifications.conftest import SmtpServer


async def _customers_file_tickets(actors: Actors, count: int) -> None:
    customers = [await actors.customer() for _ in range(count)]
    for customer in customers:
        response = await actors.client.post(
            "/api/v1/tickets",
            json={"subject": "Help", "description": "d"},
            headers=customer.headers,
        )
        assert response.status_code == 201


async def _statuses(sessionmaker: async_sessionmaker[AsyncSession]) -> Counter[str]:
    async with sessionmaker() as session:
        rows = await session.execute(
            select(NotificationDelivery.status, func.count()).group_by(NotificationDelivery.status)
        )
        return Counter({status.value: count for status, count in rows})


async def test_a_worker_that_dies_after_claiming_loses_nothing(
    actors: Actors,
    worker: DeliveryWorker,
    mail_settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    database_url: str,
    smtp_server: SmtpServer,
) -> None:
    await _customers_file_tickets(actors, 3)
    claimed = await worker.claim()  # ... and then the process is killed: no outcome recorded
    assert len(claimed) == 3
    async with httpx.AsyncClient() as http:
        other = make_worker(mail_settings, sessionmaker, database_url, http)
        assert await other.run_until_idle() == 0  # the lease still holds
        async with sessionmaker() as session, session.begin():
            await session.execute(
                update(NotificationDelivery).values(
                    lease_expires_at=datetime.now(UTC) - timedelta(seconds=1)
                )
            )
        assert await other.run_until_idle() == 3
    assert len(smtp_server.handler.messages) == 3
    assert await _statuses(sessionmaker) == Counter({"delivered": 3})


async def test_a_delivery_whose_every_attempt_lost_its_worker_is_dead_not_retried(
    actors: Actors,
    worker: DeliveryWorker,
    mail_settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    database_url: str,
    smtp_server: SmtpServer,
) -> None:
    await _customers_file_tickets(actors, 1)
    [claimed] = await worker.claim()  # the last attempt it had: then the process died
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(NotificationDelivery).values(
                max_attempts=claimed.attempts,
                lease_expires_at=datetime.now(UTC) - timedelta(seconds=1),
            )
        )
    # The same worker swept when it claimed, and sweeps again only a third of a lease
    # later: meanwhile it must not take the row for an attempt beyond the last.
    assert await worker.run_until_idle() == 0
    assert await _statuses(sessionmaker) == Counter({"sending": 1})
    async with httpx.AsyncClient() as http:
        other = make_worker(mail_settings, sessionmaker, database_url, http)
        assert await other.run_until_idle() == 0
    async with sessionmaker() as session:
        row = await session.get(NotificationDelivery, claimed.id)
    assert row is not None
    assert (row.status, row.attempts) == (DeliveryStatus.DEAD, claimed.attempts)
    assert row.last_error == "every attempt ended without an outcome (worker lost)"
    assert smtp_server.handler.messages == []


async def test_an_outcome_is_not_recorded_by_a_worker_that_lost_its_lease(
    actors: Actors,
    worker: DeliveryWorker,
    mail_settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    database_url: str,
) -> None:
    await _customers_file_tickets(actors, 1)
    [slow_claim] = await worker.claim()
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(NotificationDelivery).values(
                lease_expires_at=datetime.now(UTC) - timedelta(seconds=1)
            )
        )
    async with httpx.AsyncClient() as http:
        other = make_worker(mail_settings, sessionmaker, database_url, http)
        assert await other.run_until_idle() == 1
    # The first worker wakes up and reports a failure: it must not overwrite the success.
    await worker._finish(slow_claim, Outcome(delivered=False, error="timed out"), latency_ms=1)
    async with sessionmaker() as session:
        row = await session.get(NotificationDelivery, slow_claim.id)
    assert row is not None
    assert row.status is DeliveryStatus.DELIVERED
    assert row.last_error is None


async def test_workers_running_together_never_send_a_delivery_twice(
    actors: Actors,
    mail_settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    database_url: str,
    smtp_server: SmtpServer,
) -> None:
    await _customers_file_tickets(actors, 60)
    async with httpx.AsyncClient() as http:
        workers = [make_worker(mail_settings, sessionmaker, database_url, http) for _ in range(4)]
        for w in workers:
            w.batch_size = 5
        attempted = await asyncio.gather(*(w.run_until_idle() for w in workers))
    assert sum(attempted) == 60
    ids = Counter(str(m["Message-ID"]) for m in smtp_server.handler.messages)
    assert len(ids) == 60
    assert set(ids.values()) == {1}
    assert await _statuses(sessionmaker) == Counter({"delivered": 60})
