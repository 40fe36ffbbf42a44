"""Threading: which ticket a message belongs to.

The hints are tried most trusted first: the ids of earlier messages it answers (every
Message-ID the desk sent, in `notification_deliveries.idempotency_key`, and every one
it received, in `inbound_messages`), then the ticket numbers it names (a `[#123]`
subject tag, a per-ticket reply address). A ticket only counts if the sender belongs
to it (its requester, a follower, or staff): a stranger quoting another customer's
ticket number gets a ticket of their own, never a message on someone else's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.inbound.intake import ThreadHints
from app.models import InboundMessage, NotificationDelivery, Ticket, TicketFollower, User
from app.tickets.merged import resolve_merged

MAX_REFERENCES = 50


def dedupe_key(channel: str, external_id: str) -> bytes:
    """The unique key of a message of `channel` with this id (an email's Message-ID)."""
    return hashlib.sha256(f"{channel}\n{external_id}".encode("utf-8", "replace")).digest()


@dataclass(frozen=True, slots=True)
class Threaded:
    """The ticket a message goes on (locked), how it was found, and the tickets it named
    whose sender was a stranger to them (for the record)."""

    ticket: Ticket | None
    how: str | None
    strangers_to: tuple[int, ...] = ()


async def candidates(
    session: AsyncSession,
    channel: str,
    hints: ThreadHints,
    ticket_from_reference: Callable[[str], int | None] | None = None,
) -> list[tuple[int, str]]:
    """The tickets the hints point at, most trusted first, each once.
    `ticket_from_reference` reads a ticket number from a reference the desk wrote in a
    form of its own (an email thread root, `<ticket-42@domain>`)."""
    found: list[tuple[int, str]] = []
    references = list(dict.fromkeys(hints.references))[:MAX_REFERENCES]
    if references:
        by_reference = await _tickets_of_references(session, channel, references)
        for reference in references:
            ticket_id = by_reference.get(reference)
            if ticket_id is None and ticket_from_reference is not None:
                ticket_id = ticket_from_reference(reference)
            if ticket_id is not None:
                found.append((ticket_id, "reference"))
    found += list(hints.ticket_ids)
    unique: dict[int, str] = {}
    for ticket_id, how in found:
        unique.setdefault(ticket_id, how)
    return list(unique.items())


async def _tickets_of_references(
    session: AsyncSession, channel: str, references: list[str]
) -> dict[str, int]:
    """The ticket of each referenced message the desk sent or received."""
    found: dict[str, int] = {}
    sent = await session.execute(
        select(NotificationDelivery.idempotency_key, NotificationDelivery.ticket_id).where(
            NotificationDelivery.idempotency_key.in_([f"<{r}>" for r in references])
        )
    )
    for key, ticket_id in sent:
        if ticket_id is not None:
            found[key.strip("<>")] = ticket_id
    keys = {dedupe_key(channel, r): r for r in references if r not in found}
    if keys:
        received = await session.execute(
            select(InboundMessage.dedupe_key, InboundMessage.ticket_id).where(
                InboundMessage.dedupe_key.in_(list(keys)), InboundMessage.ticket_id.is_not(None)
            )
        )
        for received_key, ticket_id in received:
            if ticket_id is not None:
                found[keys[bytes(received_key)]] = ticket_id
    return found


async def belongs(session: AsyncSession, sender: User, ticket: Ticket) -> bool:
    """Whether `sender` may write to `ticket`: its requester, a follower, or staff."""
    if sender.id == ticket.requester_id or sender.role.is_staff:
        return True
    follower = await session.scalar(
        select(TicketFollower.user_id).where(
            TicketFollower.ticket_id == ticket.id, TicketFollower.user_id == sender.id
        )
    )
    return follower is not None


async def _locked(session: AsyncSession, ticket_id: int) -> Ticket | None:
    ticket: Ticket | None = await session.scalar(
        select(Ticket)
        .where(Ticket.id == ticket_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return ticket


async def find_ticket(
    session: AsyncSession, sender: User | None, candidates: list[tuple[int, str]]
) -> Threaded:
    """The first candidate ticket the sender belongs to, locked for the change."""
    strangers: list[int] = []
    for ticket_id, how in candidates:
        ticket = await _locked(session, ticket_id)
        if ticket is None:
            continue
        if ticket.merged_into_id is not None and sender is not None:
            # Aimed at a duplicate: it lands on the primary for whoever belongs there. A
            # reply from another customer, whose request was merged into this one, never
            # shows on someone else's request: it follows up their own (closed) ticket.
            primary = await _locked(session, await resolve_merged(session, ticket.id))
            if primary is not None and await belongs(session, sender, primary):
                return Threaded(primary, "merged", tuple(strangers))
        if sender is not None and await belongs(session, sender, ticket):
            return Threaded(ticket, how, tuple(strangers))
        strangers.append(ticket_id)
    return Threaded(None, None, tuple(strangers))
