"""Bounces: a mail the desk sent did not arrive.

Only a bounce that names a Message-ID the desk wrote counts: that delivery is marked
bounced and, for a permanent failure, its recipient's address undeliverable (the
outbox stops emailing it); the ticket gets an internal `email.bounced`. A bounce for
mail the desk did not send (or one that returned no headers) changes nothing: anyone
can write a bounce, and it must not switch off someone else's email.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.events.kinds import QUIET, EventKind
from app.events.recorder import record_event
from app.events.records import person
from app.inbound.intake import Decision
from app.inbound.mail import BouncedRecipient, BounceReport, base_address
from app.models import IntakeOutcome, NotificationDelivery, Ticket, User, Visibility
from app.tickets.service import touch


async def record_bounce(session: AsyncSession, report: BounceReport) -> Decision:
    delivery = None
    if report.original_message_id:
        delivery = await session.scalar(
            select(NotificationDelivery)
            .where(NotificationDelivery.idempotency_key == f"<{report.original_message_id}>")
            .with_for_update()
        )
    if delivery is None:
        return Decision(
            IntakeOutcome.IGNORED,
            reason="a delivery report about mail the desk did not send (or cannot identify)",
            reason_code="bounce_unknown",
        )
    recipient = (
        None if delivery.recipient_id is None else await session.get(User, delivery.recipient_id)
    )
    failed = _failure_for(report, recipient)
    if failed is None:
        return Decision(
            IntakeOutcome.IGNORED,
            delivery.ticket_id,
            reason="a delivery report that is not a failure (delayed or relayed)",
            reason_code="bounce_delayed",
        )
    now = datetime.now(UTC)
    why = _why(failed)
    delivery.bounced_at = now
    delivery.bounce_reason = why[:500]
    permanent = failed.permanent
    if permanent and recipient is not None and recipient.email_undeliverable_at is None:
        recipient.email_undeliverable_at = now
        recipient.email_undeliverable_reason = why[:500]
    if delivery.ticket_id is not None:
        ticket = await session.scalar(
            select(Ticket).where(Ticket.id == delivery.ticket_id).with_for_update()
        )
        if ticket is not None:
            touch(ticket, now)
            await record_event(
                session,
                ticket,
                EventKind.EMAIL_BOUNCED,
                actor=None,
                visibility=Visibility.INTERNAL,
                data={
                    "delivery_id": delivery.id,
                    "recipient": person(recipient),
                    "address": failed.address,
                    "status": failed.status,
                    "diagnostic": failed.diagnostic,
                    "permanent": permanent,
                    QUIET: True,
                },
            )
    return Decision(
        IntakeOutcome.IGNORED,
        delivery.ticket_id,
        reason=f"a bounce: {why}",
        reason_code="bounce",
    )


def _failure_for(report: BounceReport, recipient: User | None) -> BouncedRecipient | None:
    """The failure the report gives for the delivery's recipient (or, the report naming
    nobody in particular, its first failure)."""
    failures = [r for r in report.recipients if r.action == "failed"]
    if recipient is not None:
        mine = [r for r in failures if base_address(r.address) == base_address(recipient.email)]
        if mine:
            return mine[0]
    if failures:
        return failures[0]
    if not report.recipients and not report.standard:
        # A prose bounce that names nobody is about the one recipient this mail had.
        address = recipient.email if recipient is not None else ""
        return BouncedRecipient(address, "failed", None, None)
    return None


def _why(failed: BouncedRecipient) -> str:
    parts = [f"{failed.address or 'the recipient'} failed"]
    if failed.status:
        parts.append(f"({failed.status})")
    if failed.diagnostic:
        parts.append(f": {failed.diagnostic}")
    return " ".join(parts)
