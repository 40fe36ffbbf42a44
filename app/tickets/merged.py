"""Where a ticket's conversation lives now: a duplicate merged into another answers with
that primary. Every intake (a reply to a duplicate's mail, its SMS thread, its chat)
lands where `resolve_merged` says."""

from __future__ import annotations

from sqlalchemy import BigInteger, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Ticket

# Merges of merges form short chains (a duplicate of a duplicate); a longer one is a bug.
MAX_HOPS = 16

_MERGED_INTO = select(Ticket.merged_into_id).where(
    Ticket.id == bindparam("ticket_id", type_=BigInteger)
)


async def resolve_merged(session: AsyncSession, ticket_id: int) -> int:
    """The ticket intake aimed at `ticket_id` belongs on: `ticket_id` itself, or the
    primary it was merged into (following a merged primary to its own primary). An id
    that names no ticket comes back as it is: the caller's own lookup will not find it."""
    current = ticket_id
    for _ in range(MAX_HOPS):
        into = await session.scalar(_MERGED_INTO, {"ticket_id": current})
        if into is None:
            return current
        current = into
    raise RuntimeError(f"ticket {ticket_id} is merged through more than {MAX_HOPS} tickets")
