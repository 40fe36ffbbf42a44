"""The quarantine: what could not be recorded, kept raw with its reason, for an admin
to retry (after a fix, or to let a rate-limited storm in) or delete."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.attachments.records import still_referenced
from app.errors import Conflict, NotFound
from app.inbound.pipeline import Intake, IntakeResult
from app.inbound.schemas import QuarantinedOut
from app.models import InboundMessage, IntakeOutcome


async def list_quarantined(
    session: AsyncSession, *, after_id: int | None, limit: int
) -> Sequence[InboundMessage]:
    query = (
        select(InboundMessage)
        .where(InboundMessage.outcome == IntakeOutcome.QUARANTINED)
        .order_by(InboundMessage.id)
        .limit(limit)
    )
    if after_id is not None:
        query = query.where(InboundMessage.id > after_id)
    return (await session.scalars(query)).all()


async def get_quarantined(
    session: AsyncSession, inbound_id: int, *, for_update: bool = False
) -> InboundMessage:
    query = select(InboundMessage).where(
        InboundMessage.id == inbound_id, InboundMessage.outcome == IntakeOutcome.QUARANTINED
    )
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    row = await session.scalar(query)
    if row is None:
        raise NotFound(f"Nothing is quarantined under id {inbound_id}.")
    return row


async def retry(
    session: AsyncSession, intakes: Mapping[str, Intake], inbound_id: int
) -> IntakeResult:
    """Record it again, through the intake of its channel."""
    row = await get_quarantined(session, inbound_id, for_update=True)
    intake = intakes.get(row.channel)
    if intake is None:
        raise Conflict(f"No intake for the {row.channel} channel is set up here.")
    return await intake.retry(session, row)


async def discard(session: AsyncSession, inbound_id: int) -> str | None:
    """Delete a quarantined message; returns its raw file's key when nothing else uses
    it, for the caller to delete from the store after the commit."""
    row = await get_quarantined(session, inbound_id, for_update=True)
    sha256 = row.raw_sha256
    await session.execute(delete(InboundMessage).where(InboundMessage.id == row.id))
    return None if await still_referenced(session, sha256) else sha256


def present(row: InboundMessage) -> QuarantinedOut:
    return QuarantinedOut(
        id=row.id,
        channel=row.channel,
        via=row.via,
        mailbox_id=row.mailbox_id,
        sender=row.sender,
        subject=row.subject,
        reason=row.reason,
        reason_code=row.reason_code,
        size=row.raw_size,
        attempts=row.attempts,
        received_at=row.received_at,
    )
