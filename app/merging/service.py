"""Merging a duplicate ticket into its primary.

One transaction: both tickets locked (in id order, so two merges of the same pair in
opposite directions cannot deadlock), both ETags checked, then the duplicate is closed
as merged, its followers follow the primary, the link is written both ways and each
ticket's timeline gets `ticket.merged`. Nothing is copied: the primary's timeline shows
the duplicate's messages and events at read time (app/events/visibility.py), which keeps
every row with its own ticket and its own audience. What the customers are told is a
reaction to `ticket.merged` (app/merging/reactions.py).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, literal, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict, PreconditionFailed, UnprocessableEntity
from app.events.kinds import EventKind
from app.events.recorder import record_events
from app.events.records import NewEvent
from app.events.visibility import lock_visible_tickets
from app.merging.schemas import TicketMerge
from app.models import (
    LinkRelation,
    Ticket,
    TicketFollower,
    TicketLink,
    TicketStatus,
    User,
    Visibility,
)
from app.tickets.concurrency import check_if_match, etag
from app.tickets.service import touch


async def merge_tickets(
    session: AsyncSession, actor: User, ticket_id: int, data: TicketMerge, *, if_match: str | None
) -> Ticket:
    """Close `ticket_id` as merged into `data.into_id`; returns the primary."""
    if data.into_id == ticket_id:
        raise UnprocessableEntity("A ticket cannot be merged into itself.", loc=("body", "into_id"))
    locked = await lock_visible_tickets(session, actor, [ticket_id, data.into_id])
    duplicate, primary = locked[ticket_id], locked[data.into_id]
    check_if_match(if_match, duplicate, actor)
    if data.into_version is not None and data.into_version != primary.version:
        raise PreconditionFailed(
            f"Ticket {primary.id} has changed: it is at version {primary.version} "
            f"(ETag {etag(primary.version)}); reload it and try again.",
            extra={"current_version": primary.version, "ticket_id": primary.id},
        )
    await _require_mergeable(session, duplicate, primary)

    now = datetime.now(UTC)
    was = duplicate.status
    duplicate.status = TicketStatus.CLOSED
    duplicate.merged_into_id = primary.id
    touch(duplicate, now)
    touch(primary, now)
    await _link(session, duplicate, primary, actor)
    await _move_followers(session, duplicate, primary)
    same_requester = duplicate.requester_id == primary.requester_id
    await record_events(
        session,
        [
            NewEvent.of(
                duplicate,
                EventKind.TICKET_MERGED,
                actor=actor,
                visibility=Visibility.PUBLIC,
                # The merge is also the duplicate's move to closed (no status_changed of
                # its own, so its requester hears one message, not two).
                data={
                    "into_id": primary.id,
                    "from": was.value,
                    "to": TicketStatus.CLOSED.value,
                    "same_requester": same_requester,
                    "note": data.note,
                },
            ),
            NewEvent.of(
                primary,
                EventKind.TICKET_MERGED,
                actor=actor,
                visibility=Visibility.PUBLIC,
                data={
                    "merged_id": duplicate.id,
                    "same_requester": same_requester,
                    "note": data.note,
                },
            ),
        ],
    )
    return primary


async def _require_mergeable(session: AsyncSession, duplicate: Ticket, primary: Ticket) -> None:
    if duplicate.merged_into_id is not None:
        raise Conflict(
            f"Ticket {duplicate.id} is already merged into {duplicate.merged_into_id}.",
            extra={"merged_into": duplicate.merged_into_id},
        )
    if duplicate.status is TicketStatus.CLOSED:
        raise Conflict(f"Ticket {duplicate.id} is closed, and closed is final.")
    if primary.status is TicketStatus.CLOSED:
        where = (
            f" (it was merged into {primary.merged_into_id}: merge into that one)"
            if primary.merged_into_id is not None
            else ""
        )
        raise Conflict(f"Ticket {primary.id} is closed{where}; merge into an open ticket.")
    incidents = await session.scalar(
        select(TicketLink.linked_id)
        .where(TicketLink.ticket_id == duplicate.id, TicketLink.relation == LinkRelation.INCIDENT)
        .limit(1)
    )
    if incidents is not None:
        raise Conflict(
            f"Ticket {duplicate.id} is a problem with linked incidents; link them to "
            f"{primary.id} (or unlink them) first."
        )


async def _link(session: AsyncSession, duplicate: Ticket, primary: Ticket, actor: User) -> None:
    """Both ways; and the duplicates merged into the duplicate now show on the primary."""
    inherited = list(
        await session.scalars(
            select(TicketLink.linked_id).where(
                TicketLink.ticket_id == duplicate.id,
                TicketLink.relation == LinkRelation.MERGED_FROM,
            )
        )
    )
    rows = [
        {"ticket_id": duplicate.id, "relation": LinkRelation.MERGED_INTO, "linked_id": primary.id},
        *(
            {"ticket_id": primary.id, "relation": LinkRelation.MERGED_FROM, "linked_id": merged}
            for merged in [duplicate.id, *inherited]
        ),
    ]
    await session.execute(
        pg_insert(TicketLink)
        .values([{**row, "actor_id": actor.id} for row in rows])
        .on_conflict_do_nothing()
    )


async def _move_followers(session: AsyncSession, duplicate: Ticket, primary: Ticket) -> None:
    await session.execute(
        pg_insert(TicketFollower)
        .from_select(
            ["ticket_id", "user_id"],
            select(literal(primary.id, BigInteger), TicketFollower.user_id).where(
                TicketFollower.ticket_id == duplicate.id
            ),
        )
        .on_conflict_do_nothing()
    )
