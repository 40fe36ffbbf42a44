"""HTTP for the timeline: GET /tickets/{id}/events, oldest first."""

from __future__ import annotations

from fastapi import APIRouter

from app.auth.dependencies import CurrentUser
from app.common.openapi import problems
from app.common.pagination import Cursor, Limit, Page, decode_id_cursor, next_id_cursor
from app.common.types import IdPath
from app.db import DbSession
from app.events import service
from app.events.schemas import EventOut, present_event

router = APIRouter(tags=["timeline"])


@router.get("/tickets/{ticket_id}/events", responses=problems(400, 404))
async def list_ticket_events(
    session: DbSession,
    viewer: CurrentUser,
    ticket_id: IdPath,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[EventOut]:
    """Every change to the ticket, oldest first; requesters get the public part. A primary
    shows the rows of the duplicates merged into it too (each with its own `ticket_id`),
    as far as the caller may see those duplicates."""
    rows = await service.list_events(
        session, viewer, ticket_id, after_id=decode_id_cursor(cursor), limit=limit
    )
    return Page(
        items=[present_event(event, actor, viewer) for event, actor in rows],
        next_cursor=next_id_cursor([event.id for event, _ in rows], limit),
    )
