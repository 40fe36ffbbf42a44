"""The intake pipeline every channel shares: recognise a repeat, keep the raw bytes,
record through the channel's adapter, or quarantine with the reason. One transaction
(the caller's) holds the record, its events and its outbox rows.

- **Idempotent**: a message is known by its channel's own id (an email's Message-ID,
  or its content hash when it has none), whose hash is unique in `inbound_messages`.
  The same message again answers the first outcome and changes nothing; two copies at
  once take turns on a transaction lock on that key, so the second sees the first.
- **Nothing lost**: the raw bytes go to the attachment store (by their SHA-256) before
  the row that refers to them is written, and the caller acknowledges (HTTP 202, SMTP
  250, an IMAP flag) only after its commit.
- **Never blocked, never a 5xx for what a message contains**: a message that cannot be
  read, or whose recording fails, is kept with its reason in quarantine (a savepoint
  undoes the half-made record first). Only an unreachable database (or store) is an
  error, which the caller turns into "try again later" (503, SMTP 451).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.attachments.policy import AttachmentRejected
from app.attachments.records import NewAttachment
from app.attachments.store import AttachmentStore, StoredFile
from app.inbound.intake import Decision, IncomingFile, Refused
from app.inbound.threads import dedupe_key
from app.models import InboundMessage, IntakeOutcome

logger = logging.getLogger(__name__)

RAW_TYPE = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class Arrival:
    """A raw message as it reached the desk, before anything was made of it."""

    raw: bytes
    via: str  # http, smtp, imap
    envelope_recipients: tuple[str, ...] = ()
    mailbox_id: int | None = None
    mailbox_team_id: int | None = None


@dataclass(slots=True)
class Reading:
    """What a channel adapter read from the raw bytes, before any database work:
    `external_id` (its idempotency key), the sender and subject to list it by, why it
    cannot be recorded (`refused`), and the files to store if it will be."""

    external_id: str
    sender: str | None
    subject: str | None
    refused: Refused | None = None
    files: Sequence[IncomingFile] = ()
    payload: Any = None
    # Whether the sender's rate limit applies (it does not to a bounce, say).
    counts_for_rate: bool = True


class ChannelAdapter(Protocol):
    channel: str

    async def read(self, raw: bytes, arrival: Arrival) -> Reading: ...

    async def record(
        self,
        session: AsyncSession,
        reading: Reading,
        arrival: Arrival,
        files: Sequence[NewAttachment],
    ) -> Decision: ...


@dataclass(frozen=True, slots=True)
class IntakeResult:
    inbound_id: int
    outcome: IntakeOutcome
    ticket_id: int | None
    message_id: int | None
    reason: str | None
    repeated: bool = False  # the same message had come before: nothing changed


@dataclass(slots=True)
class Intake:
    """One channel's pipeline: its adapter, the store, the rate limit per sender."""

    adapter: ChannelAdapter
    store: AttachmentStore
    max_raw_bytes: int
    sender_limit: int = 20
    sender_window: timedelta = timedelta(minutes=10)

    async def take_in(self, session: AsyncSession, arrival: Arrival) -> IntakeResult:
        """Record one raw message (or recognise it, or quarantine it), in `session`'s
        transaction, which the caller commits before acknowledging."""
        reading = await self.adapter.read(arrival.raw, arrival)
        key = dedupe_key(self.adapter.channel, reading.external_id)
        # Kept first (content-addressed: a repeat rewrites nothing), then the lock, so no
        # file is written while the lock is held.
        raw = await self.store.keep(
            arrival.raw, max_bytes=self.max_raw_bytes, content_type=RAW_TYPE
        )
        await _lock(session, key)
        known = await _known(session, key)  # a copy that held the lock has committed it
        if known is not None:
            return known
        decision = await self._decide(session, reading, arrival, rate_limited=True)
        return await _insert(session, self.adapter.channel, key, reading, arrival, raw, decision)

    async def keep_oversized(
        self, session: AsyncSession, chunks: AsyncIterable[bytes], arrival: Arrival, limit: int
    ) -> IntakeResult:
        """A message larger than the channel takes in: kept unread (streamed to the store,
        never held in memory), quarantined with its size, known by its content."""
        raw = await self.store.keep(chunks, max_bytes=self.max_raw_bytes, content_type=RAW_TYPE)
        refused = Refused("too_large", f"the message is {raw.size} bytes; the limit is {limit}")
        reading = Reading(
            external_id=f"sha256-{raw.sha256}@content-hash.invalid",
            sender=None,
            subject=None,
            refused=refused,
        )
        key = dedupe_key(self.adapter.channel, reading.external_id)
        await _lock(session, key)
        known = await _known(session, key)
        if known is not None:
            return known
        decision = _quarantined(refused)
        return await _insert(session, self.adapter.channel, key, reading, arrival, raw, decision)

    async def retry(self, session: AsyncSession, row: InboundMessage) -> IntakeResult:
        """Record a quarantined message again (an admin asked): no rate limit this time."""
        raw = bytearray()
        async for chunk in self.store.read(row.raw_sha256):
            raw += chunk
        arrival = Arrival(
            bytes(raw),
            via=row.via,
            envelope_recipients=tuple(row.envelope_recipients),
            mailbox_id=row.mailbox_id,
        )
        reading = await self.adapter.read(arrival.raw, arrival)
        if row.reason_code == "too_large" and reading.refused is None:
            reading.refused = Refused("too_large", row.reason or "the message is too large")
        decision = await self._decide(session, reading, arrival, rate_limited=False)
        row.outcome = decision.outcome
        row.reason, row.reason_code = decision.reason, decision.reason_code
        row.ticket_id, row.message_row_id = decision.ticket_id, decision.message_id
        row.attempts += 1
        row.recorded_at = datetime.now(UTC)
        await session.flush()
        return _result(row, repeated=False)

    async def _decide(
        self, session: AsyncSession, reading: Reading, arrival: Arrival, *, rate_limited: bool
    ) -> Decision:
        if reading.refused is not None:
            return _quarantined(reading.refused)
        if rate_limited and reading.counts_for_rate and reading.sender:
            storm = await self._over_rate(session, reading.sender)
            if storm is not None:
                return _quarantined(storm)
        files, refused_files = await self._store_files(reading.files)
        try:
            async with session.begin_nested():
                decision = await self.adapter.record(session, reading, arrival, files)
        except Refused as refused:
            return _quarantined(refused)
        except Exception as error:  # a bug or a value the database refused: kept, not lost
            logger.exception("an inbound %s could not be recorded", self.adapter.channel)
            detail = f"{type(error).__name__}: {error}".splitlines()[0][:500]
            return _quarantined(Refused("record_failed", f"it could not be recorded ({detail})"))
        if refused_files and decision.reason is None:
            return Decision(
                decision.outcome,
                decision.ticket_id,
                decision.message_id,
                "files not accepted: " + "; ".join(refused_files),
                "files_refused",
            )
        return decision

    async def _over_rate(self, session: AsyncSession, sender: str) -> Refused | None:
        since = datetime.now(UTC) - self.sender_window
        count = await session.scalar(
            select(func.count())
            .select_from(InboundMessage)
            .where(InboundMessage.sender == sender[:320], InboundMessage.received_at >= since)
        )
        if (count or 0) < self.sender_limit:
            return None
        minutes = self.sender_window.total_seconds() / 60
        return Refused(
            "rate_limited",
            f"more than {self.sender_limit} messages from {sender} in {minutes:g} minutes",
        )

    async def _store_files(
        self, files: Sequence[IncomingFile]
    ) -> tuple[list[NewAttachment], list[str]]:
        stored: list[NewAttachment] = []
        refused: list[str] = []
        for incoming in files:
            try:
                saved = await self.store.save(
                    incoming.content, filename=incoming.filename, content_type=incoming.content_type
                )
            except AttachmentRejected as rejected:
                refused.append(f"{incoming.filename or 'a file'}: {rejected.detail}")
                continue
            stored.append(NewAttachment(saved, incoming.filename, incoming.inline))
        return stored, refused


def _quarantined(refused: Refused) -> Decision:
    return Decision(IntakeOutcome.QUARANTINED, reason=refused.reason, reason_code=refused.code)


async def _lock(session: AsyncSession, key: bytes) -> None:
    """Copies of one message take turns (until commit), so the second sees the first."""
    await session.execute(
        select(func.pg_advisory_xact_lock(int.from_bytes(key[:8], "big", signed=True)))
    )


async def _known(session: AsyncSession, key: bytes) -> IntakeResult | None:
    row = await session.scalar(select(InboundMessage).where(InboundMessage.dedupe_key == key))
    return None if row is None else _result(row, repeated=True)


def _result(row: InboundMessage, *, repeated: bool) -> IntakeResult:
    return IntakeResult(
        row.id, row.outcome, row.ticket_id, row.message_row_id, row.reason, repeated=repeated
    )


async def _insert(
    session: AsyncSession,
    channel: str,
    key: bytes,
    reading: Reading,
    arrival: Arrival,
    raw: StoredFile,
    decision: Decision,
) -> IntakeResult:
    now = datetime.now(UTC)
    values = {
        "channel": channel,
        "via": arrival.via,
        "mailbox_id": arrival.mailbox_id,
        "dedupe_key": key,
        "external_id": reading.external_id[:2000],
        "raw_sha256": raw.sha256,
        "raw_size": raw.size,
        "envelope_recipients": [r[:320] for r in arrival.envelope_recipients[:100]],
        "sender": None if reading.sender is None else reading.sender[:320],
        "subject": None if reading.subject is None else reading.subject[:300],
        "outcome": decision.outcome,
        "reason": decision.reason,
        "reason_code": decision.reason_code,
        "ticket_id": decision.ticket_id,
        "message_row_id": decision.message_id,
        "received_at": now,
        "recorded_at": None if decision.outcome is IntakeOutcome.QUARANTINED else now,
    }
    inbound_id = await session.scalar(
        pg_insert(InboundMessage).values(values).returning(InboundMessage.id)
    )
    assert inbound_id is not None
    return IntakeResult(
        inbound_id, decision.outcome, decision.ticket_id, decision.message_id, decision.reason
    )
