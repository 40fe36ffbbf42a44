"""HTTP for chats."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from app.auth.dependencies import CurrentUser
from app.chats import service
from app.chats.schemas import Availability, ChatCreate, ChatOut
from app.common.openapi import problems
from app.db import DbSession

router = APIRouter(tags=["chats"])


@router.post(
    "/chats",
    status_code=status.HTTP_201_CREATED,
    response_model=ChatOut,
    responses=problems(403),
)
async def open_chat(
    request: Request, session: DbSession, actor: CurrentUser, data: ChatCreate
) -> ChatOut:
    """A signed-in customer opens a chat (or staff start one with a customer,
    `customer_id`): a ticket with channel chat. Messages both ways
    are the ticket's messages (`POST /tickets/{id}/messages`), live on the WebSocket
    topic `ticket:{id}`; both sides send `{"type": "presence", "ticket_id", "state":
    "typing"}` frames, which the other side receives. Unanswered by `fallback_at`, the
    conversation goes on by email with the transcript; `transcript_by_email` mails the
    transcript when the chat is resolved or closed."""
    settings = request.app.state.settings
    return await service.open_chat(
        session,
        actor,
        data,
        search_config=settings.search_config,
        fallback_after=timedelta(seconds=settings.chat_fallback_seconds),
    )


@router.get("/chats/availability", responses=problems())
async def chat_availability(
    session: DbSession,
    _viewer: CurrentUser,
    team_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> Availability:
    """Whether chat is offered now: staff (of `team_id`, when given) connected to the
    live channel, counted across every process of the service."""
    return await service.availability(session, team_id)
