"""HTTP for feedback: file it, flag a message as feedback, list and search, triage,
walk it through its lifecycle, link duplicates, vote. Surveys have their own router."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import AfterValidator

from app.auth.dependencies import CurrentUser, StaffUser
from app.common.openapi import problems
from app.common.pagination import Cursor, Limit, Page, decode_id_cursor, next_id_cursor
from app.common.types import MAX_BIGINT, IdPath, QueryDatetime, reject_nul
from app.db import DbSession
from app.errors import UnprocessableEntity
from app.feedback import repository, service
from app.feedback.schemas import (
    CUSTOMER_FEEDBACK_FIELDS,
    CustomerFeedbackOut,
    FeedbackCreate,
    FeedbackFilters,
    FeedbackOut,
    FeedbackStatusChange,
    FeedbackUpdate,
    MessageFeedbackCreate,
    VoteCreate,
    VoteOut,
)
from app.feedback.survey_router import router as survey_router
from app.idempotency.guard import IdempotencyGuard
from app.models import Channel, FeedbackKind, FeedbackStatus, FeedbackVote, Role

router = APIRouter(tags=["feedback"])
router.include_router(survey_router)

IdFilter = Annotated[int | None, Query(ge=1, le=MAX_BIGINT)]
TextFilter = Annotated[str | None, Query(min_length=1, max_length=200), AfterValidator(reject_nul)]


def _search_config(request: Request) -> str:
    config: str = request.app.state.settings.search_config
    return config


def _staff_view(item: FeedbackOut | CustomerFeedbackOut) -> FeedbackOut:
    assert isinstance(item, FeedbackOut)
    return item


def _vote_out(ballot: FeedbackVote) -> VoteOut:
    return VoteOut(
        id=ballot.id,
        feedback_id=ballot.feedback_id,
        customer_id=ballot.customer_id,
        created_at=ballot.created_at,
    )


@router.post(
    "/feedback",
    status_code=status.HTTP_201_CREATED,
    response_model=FeedbackOut | CustomerFeedbackOut,
    responses=problems(404),
)
async def create_feedback(
    request: Request,
    session: DbSession,
    author: CurrentUser,
    idempotency: IdempotencyGuard,
    data: FeedbackCreate,
) -> JSONResponse:
    """File a complaint, suggestion, improvement request or praise. Customers file for
    themselves; agents (from a call or a chat) and integrations name the customer.
    A complaint raises its ticket's urgency, or gets a ticket of its own."""
    if author.role is Role.CUSTOMER:
        extra = sorted(data.model_fields_set - CUSTOMER_FEEDBACK_FIELDS)
        if extra:
            raise UnprocessableEntity(f"Customers cannot set: {', '.join(extra)}.")
    feedback = await service.file_feedback(
        session, author, data, search_config=_search_config(request)
    )
    return await idempotency.respond(
        await repository.read(session, author, feedback.id),
        status_code=status.HTTP_201_CREATED,
        headers={"Location": f"/api/v1/feedback/{feedback.id}"},
    )


@router.post(
    "/tickets/{ticket_id}/messages/{message_id}/feedback",
    status_code=status.HTTP_201_CREATED,
    response_model=FeedbackOut,
    responses=problems(403, 404),
)
async def flag_message_as_feedback(
    request: Request,
    session: DbSession,
    agent: StaffUser,
    idempotency: IdempotencyGuard,
    ticket_id: IdPath,
    message_id: IdPath,
    data: MessageFeedbackCreate,
) -> JSONResponse:
    """Capture what the customer said in the conversation as feedback, linked back to
    the message and the ticket."""
    feedback = await service.flag_message(
        session, agent, ticket_id, message_id, data, search_config=_search_config(request)
    )
    return await idempotency.respond(
        await repository.read(session, agent, feedback.id),
        status_code=status.HTTP_201_CREATED,
        headers={"Location": f"/api/v1/feedback/{feedback.id}"},
    )


@router.get("/feedback", responses=problems(400))
async def list_feedback(
    request: Request,
    session: DbSession,
    viewer: CurrentUser,
    kind: Annotated[list[FeedbackKind] | None, Query(max_length=4)] = None,
    status: Annotated[list[FeedbackStatus] | None, Query(max_length=5)] = None,
    category: TextFilter = None,
    tag: TextFilter = None,
    channel: Channel | None = None,
    customer_id: IdFilter = None,
    ticket_id: IdFilter = None,
    primary_id: IdFilter = None,
    duplicate: bool | None = None,
    created_since: QueryDatetime | None = None,
    created_before: QueryDatetime | None = None,
    q: TextFilter = None,
    mine: bool = False,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[FeedbackOut] | Page[CustomerFeedbackOut]:
    """Feedback the caller may see, newest first; `q` searches the text, category, tags
    and response. Customers see their own (`mine=true` says so explicitly)."""
    filters = FeedbackFilters(
        kind=kind or [],
        status=status or [],
        category=category,
        tag=tag.lower() if tag else None,
        channel=channel,
        customer_id=customer_id,
        ticket_id=ticket_id,
        primary_id=primary_id,
        duplicate=duplicate,
        created_since=created_since,
        created_before=created_before,
        q=q,
        mine=mine,
    )
    items, next_cursor = await repository.list_feedback(
        session, viewer, filters, limit=limit, cursor=cursor, search_config=_search_config(request)
    )
    if viewer.role.is_staff:
        return Page[FeedbackOut](
            items=[item for item in items if isinstance(item, FeedbackOut)],
            next_cursor=next_cursor,
        )
    return Page[CustomerFeedbackOut](
        items=[item for item in items if isinstance(item, CustomerFeedbackOut)],
        next_cursor=next_cursor,
    )


@router.get("/feedback/{feedback_id}", responses=problems(404))
async def get_feedback(
    session: DbSession, viewer: CurrentUser, feedback_id: IdPath
) -> FeedbackOut | CustomerFeedbackOut:
    return await repository.read(session, viewer, feedback_id)


@router.patch("/feedback/{feedback_id}", responses=problems(403, 404, 409))
async def update_feedback(
    request: Request,
    session: DbSession,
    editor: StaffUser,
    feedback_id: IdPath,
    data: FeedbackUpdate,
) -> FeedbackOut:
    """Triage: reclassify, categorise, tag, or link as a duplicate of a primary record
    (which then carries the lifecycle, and the count of customers, for both)."""
    await service.update_feedback(
        session, editor, feedback_id, data, search_config=_search_config(request)
    )
    return _staff_view(await repository.read(session, editor, feedback_id))


@router.post("/feedback/{feedback_id}/status", responses=problems(403, 404, 409))
async def change_feedback_status(
    request: Request,
    session: DbSession,
    editor: StaffUser,
    feedback_id: IdPath,
    data: FeedbackStatusChange,
) -> FeedbackOut:
    """new → acknowledged → planned → done, or declined; with the public response the
    author (and every customer behind a duplicate) is told."""
    await service.change_status(
        session, editor, feedback_id, data, search_config=_search_config(request)
    )
    return _staff_view(await repository.read(session, editor, feedback_id))


@router.post(
    "/feedback/{feedback_id}/votes",
    status_code=status.HTTP_201_CREATED,
    response_model=VoteOut,
    responses=problems(404, 409),
)
async def vote_for_feedback(
    session: DbSession,
    voter: CurrentUser,
    idempotency: IdempotencyGuard,
    feedback_id: IdPath,
    data: VoteCreate | None = None,
) -> JSONResponse:
    """Count a customer behind a suggestion or improvement request, once. Customers vote
    for themselves; agents and integrations name the customer."""
    ballot = await service.vote(session, voter, feedback_id, data or VoteCreate())
    return await idempotency.respond(
        _vote_out(ballot),
        status_code=status.HTTP_201_CREATED,
        headers={"Location": f"/api/v1/feedback/{ballot.feedback_id}/votes"},
    )


@router.get("/feedback/{feedback_id}/votes", responses=problems(400, 403, 404))
async def list_feedback_votes(
    session: DbSession,
    _viewer: StaffUser,
    feedback_id: IdPath,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[VoteOut]:
    """Who voted for a record and its duplicates, oldest first."""
    ballots = await service.list_votes(
        session, feedback_id, after_id=decode_id_cursor(cursor), limit=limit
    )
    return Page(
        items=[_vote_out(ballot) for ballot in ballots],
        next_cursor=next_id_cursor([ballot.id for ballot in ballots], limit),
    )
