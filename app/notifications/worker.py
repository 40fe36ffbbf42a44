"""Delivery workers: claim due rows, send them, record what happened.

Claiming is one UPDATE over `FOR UPDATE SKIP LOCKED` rows that sets a lease, so several
workers (in `helpdesk serve`, or `helpdesk worker` processes) never take the same row
while its lease holds. A worker killed mid-send never records an outcome: the lease
runs out and another worker sends again (at least once; the stable Message-ID or
webhook-id lets the receiver recognise the repeat). The outcome is written only while
the lease is still ours.

Throughput: rows are claimed in batches (several per sender), what they need (recipients,
message bodies, endpoints) is read in one query per kind for the batch, and the outcomes
of a batch are written in one transaction; the next batch is claimed while one is being
sent. Rows waiting in a batch for a free sender keep their lease: the worker renews the
leases it holds, so a long batch never hands rows to another worker while this one is
alive, and a dead worker's rows come free one lease after it stopped renewing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

import asyncpg
from sqlalchemy import and_, func, or_, select, text, update
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
from app.notifications.mail_files import MailFiles
from app.notifications.render import Rendered, render
from app.notifications.retry import attempt_in_round, next_delay
from app.notifications.webhook_health import record_webhook_outcome

logger = logging.getLogger(__name__)

OUTBOX_CHANNEL = "helpdesk_outbox"
RECORD_ATTEMPTS = 3


async def wake_workers(session: AsyncSession) -> None:
    """Tell the workers a row is due now. New rows announce themselves (a trigger); a
    row made due again needs this nudge, which PostgreSQL sends only at commit."""
    await session.execute(select(func.pg_notify(OUTBOX_CHANNEL, "")))


Result = tuple[NotificationDelivery, Outcome, int]


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
        mail_files: MailFiles | None = None,
        reply_address: str | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        # Email: the files of the messages it tells about, and the per-ticket Reply-To.
        self.mail_files = mail_files
        self.reply_address = reply_address
        self.channels = channels
        self.name = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"[:64]
        self.mail_domain = mail_domain
        # A few rows per sender: one claim, one read and one write serve several sends.
        self.batch_size = batch_size or concurrency * 4
        self.lease = timedelta(seconds=lease_seconds)
        self.poll_interval = poll_interval
        self._connect_args = asyncpg_connect_args(database_url)
        self._slots = asyncio.Semaphore(concurrency)
        # One batch being sent while the next is claimed and read, no more: rows claimed
        # far ahead of a free sender would only wait.
        self._batches = asyncio.Semaphore(2)
        self._wake = asyncio.Event()
        self._held: set[int] = set()  # claimed, outcome not yet written: leases to renew
        # Rows orphaned by a lost worker are marked dead now and then, not at every claim:
        # the claim itself never takes one whose attempts are spent.
        self._next_sweep = 0.0

    async def run(self) -> None:
        listener = None
        sending: set[asyncio.Task[None]] = set()
        renewer = self._start_renewing()
        try:
            while True:
                if listener is None or listener.is_closed():
                    listener = await self._listen()
                await self._batches.acquire()
                # Cleared before the claim: a row committed while it runs wakes the next.
                self._wake.clear()
                try:
                    claimed = await self.claim()
                except Exception:  # the database is away: try again later, never die
                    self._batches.release()
                    logger.exception("delivery worker cannot claim; trying again")
                    await asyncio.sleep(self.poll_interval)
                    continue
                if claimed:
                    task = asyncio.create_task(self._send_batch(claimed))
                    sending.add(task)
                    task.add_done_callback(sending.discard)
                    task.add_done_callback(self._batch_done)
                    continue
                self._batches.release()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)
        finally:
            renewer.cancel()
            for task in sending:
                task.cancel()
            await asyncio.gather(renewer, *sending, return_exceptions=True)
            if listener is not None and not listener.is_closed():
                with contextlib.suppress(Exception):
                    await listener.close()
            await self.aclose()

    def _batch_done(self, task: asyncio.Task[None]) -> None:
        self._batches.release()
        if not task.cancelled() and (error := task.exception()) is not None:
            # Outcomes not written: the rows go again once their leases run out.
            logger.error("delivery batch failed", exc_info=error)

    async def aclose(self) -> None:
        """Close what the channels keep open (SMTP connections)."""
        for channel in self.channels.values():
            closer = getattr(channel, "aclose", None)
            if closer is not None:
                with contextlib.suppress(Exception):
                    await closer()

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
        renewer = self._start_renewing()
        try:
            while claimed := await self.claim():
                attempted += len(claimed)
                await self._send_batch(claimed)
        finally:
            renewer.cancel()
            await asyncio.gather(renewer, return_exceptions=True)
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
                        NotificationDelivery.attempts < NotificationDelivery.max_attempts,
                    ),
                )
            )
            .order_by(NotificationDelivery.next_attempt_at)
            .limit(self.batch_size)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        async with self.sessionmaker() as session, session.begin():
            if time.monotonic() >= self._next_sweep:
                await self._sweep_orphans(session, now)
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
            claimed = result.all()
        self._held.update(d.id for d in claimed)
        return claimed

    async def _sweep_orphans(self, session: AsyncSession, now: datetime) -> None:
        """A row whose every attempt ended with its worker gone (a send that crashes the
        process) is dead, not retried forever. Checked once per third of a lease."""
        self._next_sweep = time.monotonic() + self.lease.total_seconds() / 3
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

    def _start_renewing(self) -> asyncio.Task[None]:
        return asyncio.create_task(self._renew_leases(), name="delivery-leases")

    async def _renew_leases(self) -> None:
        """Keep the leases of what this worker holds, while it is alive to send them."""
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            held = list(self._held)
            if not held:
                continue
            try:
                async with self.sessionmaker() as session, session.begin():
                    await session.execute(
                        update(NotificationDelivery)
                        .where(
                            # A row locked now is having its outcome written: skip it
                            # rather than wait (and never deadlock with that writer).
                            NotificationDelivery.id.in_(
                                select(NotificationDelivery.id)
                                .where(
                                    NotificationDelivery.id.in_(held),
                                    NotificationDelivery.leased_by == self.name,
                                    NotificationDelivery.status == DeliveryStatus.SENDING,
                                )
                                .with_for_update(skip_locked=True)
                                .scalar_subquery()
                            ),
                        )
                        .values(lease_expires_at=datetime.now(UTC) + self.lease)
                    )
            except Exception:  # the next round tries again; a lease that ran out is safe
                logger.exception("delivery worker cannot renew its leases")

    async def _send_batch(self, claimed: Sequence[NotificationDelivery]) -> None:
        try:
            try:
                prepared = await self._prepare(claimed)
            except Exception as exc:  # the database is away: every row retries later
                logger.exception("delivery worker cannot read what to send")
                failed = Outcome(delivered=False, error=f"{type(exc).__name__}: {exc}"[:500])
                await self._record([(d, failed, 0) for d in claimed])
                return
            results = await asyncio.gather(*(self._send(d, prepared.get(d.id)) for d in claimed))
            await self._record(results)
        finally:
            self._held.difference_update(d.id for d in claimed)

    async def _send(self, delivery: NotificationDelivery, outgoing: Outgoing | None) -> Result:
        async with self._slots:
            started = time.perf_counter()
            try:
                if outgoing is None:
                    outcome = Outcome(delivered=False, error="nothing to send to", permanent=True)
                elif _undeliverable(outgoing):
                    outcome = Outcome(
                        delivered=False,
                        error="the address is undeliverable (mail to it bounced)",
                        permanent=True,
                    )
                elif _opted_out(outgoing):
                    # They texted STOP after this was written: it must not go out.
                    outcome = Outcome(
                        delivered=False,
                        error="the recipient opted out of SMS (STOP)",
                        permanent=True,
                    )
                else:
                    if outgoing.files and self.mail_files is not None:
                        outgoing = await self.mail_files.loaded(outgoing)
                    outcome = await self.channels[delivery.channel].send(outgoing)
            except Exception as exc:  # a bug or an unexpected failure: retry like any other
                logger.exception("delivery %s failed unexpectedly", delivery.id)
                outcome = Outcome(delivered=False, error=f"{type(exc).__name__}: {exc}"[:500])
            return delivery, outcome, int((time.perf_counter() - started) * 1000)

    async def _prepare(self, claimed: Sequence[NotificationDelivery]) -> dict[int, Outgoing]:
        """What each claimed row needs, read for the whole batch at once. A row missing
        from the answer has nobody (active) to send to."""
        hooks = {d.webhook_id for d in claimed if d.channel is DeliveryChannel.WEBHOOK} - {None}
        people = {d.recipient_id for d in claimed if d.channel is not DeliveryChannel.WEBHOOK}
        people.discard(None)
        message_ids = {m for d in claimed for m in _message_ids(d)}
        endpoints: dict[int, WebhookEndpoint] = {}
        recipients: dict[int, User] = {}
        async with self.sessionmaker() as session:
            # Only what the batch needs: most batches are all email, or all webhooks.
            if hooks:
                endpoints = {
                    e.id: e
                    for e in await session.scalars(
                        select(WebhookEndpoint).where(
                            WebhookEndpoint.id.in_(hooks), WebhookEndpoint.active.is_(True)
                        )
                    )
                }
            if people:
                recipients = {
                    u.id: u
                    for u in await session.scalars(
                        select(User).where(User.id.in_(people), User.active.is_(True))
                    )
                }
            bodies: dict[int, str] = {}
            if message_ids:
                rows = await session.execute(
                    select(Message.id, Message.body).where(Message.id.in_(message_ids))
                )
                bodies = {message_id: body for message_id, body in rows}
            files = {}
            if message_ids and self.mail_files is not None:
                files = await self.mail_files.of_batch(session, claimed)
        prepared: dict[int, Outgoing] = {}
        for delivery in claimed:
            if delivery.channel is DeliveryChannel.WEBHOOK:
                endpoint = endpoints.get(delivery.webhook_id or 0)
                if endpoint is not None:
                    prepared[delivery.id] = Outgoing(delivery, None, None, endpoint, None)
                continue
            recipient = recipients.get(delivery.recipient_id or 0)
            if recipient is None:
                continue
            rendered: Rendered = render(delivery.payload, recipient.name, recipient.locale, bodies)
            root = (
                None
                if delivery.ticket_id is None
                else f"<ticket-{delivery.ticket_id}@{self.mail_domain}>"
            )
            reply_to = None
            if self.reply_address and delivery.ticket_id is not None:
                reply_to = _plus_address(self.reply_address, delivery.ticket_id)
            prepared[delivery.id] = Outgoing(
                delivery, recipient, rendered, None, root, reply_to, files.get(delivery.id, [])
            )
        return prepared

    async def _finish(
        self, delivery: NotificationDelivery, outcome: Outcome, latency_ms: int
    ) -> None:
        await self._record([(delivery, outcome, latency_ms)])

    async def _record(self, results: Iterable[Result]) -> None:
        """Write the outcomes of a batch in one transaction, each only if its lease is
        still ours (a worker that lost it must not overwrite what another recorded).

        Endpoints are updated in id order, so two workers recording at once never wait
        for each other in a circle; a transaction that fails anyway is tried again, since
        an outcome not written means the message is sent again after the lease."""
        ordered = sorted(results, key=lambda r: (r[0].webhook_id or 0, r[0].id))
        for attempt in range(1, RECORD_ATTEMPTS + 1):
            try:
                await self._record_once(ordered)
                return
            except Exception:
                if attempt == RECORD_ATTEMPTS:
                    raise
                logger.warning("delivery outcomes not recorded; trying again", exc_info=True)
                await asyncio.sleep(0.1 * attempt)

    async def _record_once(self, results: Sequence[Result]) -> None:
        now = datetime.now(UTC)
        rows = [_outcome_row(d, o, ms, now) for d, o, ms in results]
        async with self.sessionmaker() as session, session.begin():
            recorded = set(
                await session.scalars(
                    _RECORD_OUTCOMES,
                    {
                        "me": self.name,
                        "now": now,
                        **{key: [row[key] for row in rows] for key in _OUTCOME_COLUMNS},
                    },
                )
            )
            for delivery, outcome, _latency in results:
                if delivery.id not in recorded:
                    logger.warning(
                        "delivery %s: lease lost before its outcome was recorded", delivery.id
                    )
                elif delivery.channel is DeliveryChannel.WEBHOOK and delivery.webhook_id:
                    await record_webhook_outcome(session, delivery.webhook_id, outcome, now)


# Every outcome of a batch in one statement (one round trip instead of one per row),
# each row only while its lease is still ours: the same attempt, leased by this worker.
_OUTCOME_COLUMNS = ("ids", "attempts", "statuses", "next_at", "errors", "codes", "latencies")
_RECORD_OUTCOMES = text(
    """
    UPDATE notification_deliveries AS d
    SET status = v.status,
        next_attempt_at = coalesce(v.next_attempt_at, d.next_attempt_at),
        delivered_at = CASE WHEN v.status = 'delivered' THEN :now ELSE d.delivered_at END,
        last_error = v.last_error,
        response_code = v.response_code,
        latency_ms = v.latency_ms,
        lease_expires_at = NULL,
        leased_by = NULL,
        updated_at = :now
    FROM unnest(
        CAST(:ids AS bigint[]), CAST(:attempts AS integer[]), CAST(:statuses AS text[]),
        CAST(:next_at AS timestamptz[]), CAST(:errors AS text[]), CAST(:codes AS integer[]),
        CAST(:latencies AS integer[])
    ) AS v(id, attempts, status, next_attempt_at, last_error, response_code, latency_ms)
    WHERE d.id = v.id
      AND d.attempts = v.attempts
      AND d.leased_by = :me
      AND d.status = 'sending'
    RETURNING d.id
    """
)


def _undeliverable(outgoing: Outgoing) -> bool:
    recipient = outgoing.recipient
    return (
        outgoing.delivery.channel is DeliveryChannel.EMAIL
        and recipient is not None
        and recipient.email_undeliverable_at is not None
    )


def _opted_out(outgoing: Outgoing) -> bool:
    recipient = outgoing.recipient
    return (
        outgoing.delivery.channel is DeliveryChannel.SMS
        and recipient is not None
        and recipient.sms_opted_out_at is not None
    )


def _plus_address(mailbox: str, ticket_id: int) -> str:
    """support@desk.example -> support+t42@desk.example: the intake threads on it."""
    local, _, domain = mailbox.rpartition("@")
    return f"{local.split('+', 1)[0]}+t{ticket_id}@{domain}"


def _message_ids(delivery: NotificationDelivery) -> list[int]:
    return [
        int(n["data"]["message_id"])
        for n in delivery.payload.get("notices", [])
        if n.get("kind") == "message.created" and "message_id" in (n.get("data") or {})
    ]


def _outcome_row(
    delivery: NotificationDelivery, outcome: Outcome, latency_ms: int, now: datetime
) -> dict[str, object]:
    """One delivery's outcome as a row of _RECORD_OUTCOMES's columns."""
    status, next_at, error = DeliveryStatus.DELIVERED, None, None
    if not outcome.delivered:
        error = outcome.error
        if outcome.permanent or delivery.attempts >= delivery.max_attempts:
            status = DeliveryStatus.DEAD
        else:
            attempt = attempt_in_round(delivery.channel, delivery.attempts, delivery.max_attempts)
            delay = next_delay(delivery.channel, attempt, outcome.retry_after_seconds)
            status, next_at = DeliveryStatus.PENDING, now + timedelta(seconds=delay)
    return {
        "ids": delivery.id,
        "attempts": delivery.attempts,
        "statuses": status.value,
        "next_at": next_at,
        "errors": error,
        "codes": outcome.response_code,
        "latencies": latency_ms,
    }
