"""Delivery workers: claim due rows, send them, record what happened.

Claiming is one UPDATE over `FOR UPDATE SKIP LOCKED` rows that sets a lease, so several
workers (in `helpdesk serve`, or `helpdesk worker` processes) never take the same row
while its lease holds. A worker killed mid-send never records an outcome: the lease
runs out and another worker sends again (at least once; the stable Message-ID or
webhook-id lets the receiver recognise the repeat). The outcome is written only while
the lease is still ours.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import asyncpg
from sqlalchemy import Integer, and_, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import asyncpg_connect_args
from app.models import (
    DeliveryChannel,
    DeliveryStatus,
    Message,
    NotificationDelivery,
    User,
    WebhookEndpoint,
)
from app.notifications.channels.base import ChannelAdapter, Outcome, Outgoing
from app.notifications.render import render
from app.notifications.retry import next_delay
from app.notifications.webhook_health import record_webhook_outcome

logger = logging.getLogger(__name__)

OUTBOX_CHANNEL = "helpdesk_outbox"


class DeliveryWorker:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        channels: dict[DeliveryChannel, ChannelAdapter],
        *,
        database_url: str,
        mail_domain: str,
        concurrency: int = 4,
        batch_size: int | None = None,
        lease_seconds: float = 60,
        poll_interval: float = 1.0,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.channels = channels
        self.name = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"[:64]
        self.mail_domain = mail_domain
        # Claim no more than can be sent at once, so no lease runs out while its row
        # waits for a free slot behind slow sends.
        self.batch_size = batch_size or concurrency
        self.lease = timedelta(seconds=lease_seconds)
        self.poll_interval = poll_interval
        self._connect_args = asyncpg_connect_args(database_url)
        self._slots = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()

    async def run(self) -> None:
        listener = None
        try:
            while True:
                if listener is None or listener.is_closed():
                    listener = await self._listen()
                claimed = await self.claim()
                if claimed:
                    await asyncio.gather(*(self._deliver(d) for d in claimed))
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)
                self._wake.clear()
        finally:
            if listener is not None and not listener.is_closed():
                with contextlib.suppress(Exception):
                    await listener.close()

    async def _listen(self) -> asyncpg.Connection | None:
        try:
            listener = await asyncpg.connect(**self._connect_args, timeout=10)
            await listener.add_listener(OUTBOX_CHANNEL, lambda *_: self._wake.set())
            return listener
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            logger.warning("delivery worker cannot LISTEN (%s); polling instead", exc)
            return None

    async def run_until_idle(self) -> int:
        """Send everything that is due now; return how many deliveries were attempted."""
        attempted = 0
        while claimed := await self.claim():
            attempted += len(claimed)
            await asyncio.gather(*(self._deliver(d) for d in claimed))
        return attempted

    async def claim(self) -> Sequence[NotificationDelivery]:
        now = datetime.now(UTC)
        due = (
            select(NotificationDelivery.id)
            .where(
                or_(
                    and_(
                        NotificationDelivery.status == DeliveryStatus.PENDING,
                        NotificationDelivery.next_attempt_at <= now,
                    ),
                    and_(
                        NotificationDelivery.status == DeliveryStatus.SENDING,
                        NotificationDelivery.lease_expires_at < now,
                    ),
                )
            )
            .order_by(NotificationDelivery.next_attempt_at)
            .limit(self.batch_size)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        async with self.sessionmaker() as session, session.begin():
            # A row whose every attempt ended with its worker gone (a send that crashes the
            # process) is dead, not retried forever.
            await session.execute(
                update(NotificationDelivery)
                .where(
                    NotificationDelivery.status == DeliveryStatus.SENDING,
                    NotificationDelivery.lease_expires_at < now,
                    NotificationDelivery.attempts >= NotificationDelivery.max_attempts,
                )
                .values(
                    status=DeliveryStatus.DEAD,
                    last_error="every attempt ended without an outcome (worker lost)",
                    leased_by=None,
                    lease_expires_at=None,
                    updated_at=now,
                )
            )
            result = await session.scalars(
                update(NotificationDelivery)
                .where(NotificationDelivery.id.in_(due))
                .values(
                    status=DeliveryStatus.SENDING,
                    leased_by=self.name,
                    lease_expires_at=now + self.lease,
                    attempts=NotificationDelivery.attempts + 1,
                    updated_at=now,
                )
                .returning(NotificationDelivery)
            )
            return result.all()

    async def _deliver(self, delivery: NotificationDelivery) -> None:
        async with self._slots:
            started = time.perf_counter()
            try:
                outgoing = await self._prepare(delivery)
                if outgoing is None:
                    outcome = Outcome(delivered=False, error="nothing to send to", permanent=True)
                else:
                    outcome = await self.channels[delivery.channel].send(outgoing)
            except Exception as exc:  # a bug or an unexpected failure: retry like any other
                logger.exception("delivery %s failed unexpectedly", delivery.id)
                outcome = Outcome(delivered=False, error=f"{type(exc).__name__}: {exc}"[:500])
            latency_ms = int((time.perf_counter() - started) * 1000)
            await self._finish(delivery, outcome, latency_ms)

    async def _prepare(self, delivery: NotificationDelivery) -> Outgoing | None:
        async with self.sessionmaker() as session:
            if delivery.channel is DeliveryChannel.WEBHOOK:
                endpoint = await session.get(WebhookEndpoint, delivery.webhook_id)
                if endpoint is None or not endpoint.active:
                    return None
                return Outgoing(delivery, None, None, endpoint, None)
            recipient = await session.get(User, delivery.recipient_id)
            if recipient is None or not recipient.active:
                return None
            message_ids = [
                int(n["data"]["message_id"])
                for n in delivery.payload.get("notices", [])
                if n.get("kind") == "message.created" and "message_id" in (n.get("data") or {})
            ]
            bodies: dict[int, str] = {}
            if message_ids:
                rows = await session.execute(
                    select(Message.id, Message.body).where(Message.id.in_(message_ids))
                )
                bodies = {message_id: body for message_id, body in rows}
        rendered = render(delivery.payload, recipient.name, recipient.locale, bodies)
        root = (
            None
            if delivery.ticket_id is None
            else f"<ticket-{delivery.ticket_id}@{self.mail_domain}>"
        )
        return Outgoing(delivery, recipient, rendered, None, root)

    async def _finish(
        self, delivery: NotificationDelivery, outcome: Outcome, latency_ms: int
    ) -> None:
        now = datetime.now(UTC)
        values: dict[str, object] = {
            "response_code": outcome.response_code,
            "latency_ms": latency_ms,
            "lease_expires_at": None,
            "leased_by": None,
            "updated_at": now,
        }
        if outcome.delivered:
            values |= {"status": DeliveryStatus.DELIVERED, "delivered_at": now, "last_error": None}
        elif outcome.permanent or delivery.attempts >= delivery.max_attempts:
            values |= {"status": DeliveryStatus.DEAD, "last_error": outcome.error}
        else:
            delay = next_delay(delivery.channel, delivery.attempts, outcome.retry_after_seconds)
            values |= {
                "status": DeliveryStatus.PENDING,
                "next_attempt_at": now + timedelta(seconds=delay),
                "last_error": outcome.error,
            }
        async with self.sessionmaker() as session, session.begin():
            result = await session.execute(
                update(NotificationDelivery)
                .where(
                    NotificationDelivery.id == delivery.id,
                    NotificationDelivery.leased_by == self.name,
                    NotificationDelivery.status == DeliveryStatus.SENDING,
                    NotificationDelivery.attempts == bindparam("attempt", type_=Integer),
                )
                .values(**values),
                {"attempt": delivery.attempts},
            )
            if result.rowcount == 0:  # type: ignore[attr-defined]
                logger.warning(
                    "delivery %s: lease lost before its outcome was recorded", delivery.id
                )
                return
            if delivery.channel is DeliveryChannel.WEBHOOK and delivery.webhook_id is not None:
                await record_webhook_outcome(session, delivery.webhook_id, outcome, now)
