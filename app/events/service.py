"""Reading the timeline, narrowed to what the viewer may see."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.events.visibility import (
    event_clause,
    get_visible_ticket,
    narrow_to_timeline,
    timeline_ticket_ids,
)
from app.models import TicketEvent, User


async def list_events(
    session: AsyncSession, viewer: User, ticket_id: int, *, after_id: int | None, limit: int
) -> Sequence[tuple[TicketEvent, User | None]]:
    await get_visible_ticket(session, viewer, ticket_id)
    ticket_ids = await timeline_ticket_ids(session, viewer, ticket_id)
    query = narrow_to_timeline(
        select(TicketEvent, User).outerjoin(User, User.id == TicketEvent.actor_id),
        TicketEvent,
        ticket_ids,
        event_clause(viewer),
        after_id=after_id,
        limit=limit,
    )
    return [(event, actor) for event, actor in (await session.execute(query)).all()]
