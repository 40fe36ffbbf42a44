"""HTTP for satisfaction surveys: on the ticket (signed in) and through the emailed link.

The link endpoints need no login; they are rate limited per client address, and every
token that does not name an open survey (unknown, forged, expired, superseded) gets
the same 404, so the link reveals nothing but the request's subject and the question.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import JSONResponse

from app.auth.dependencies import CurrentUser
from app.auth.rate_limit import RateLimiter
from app.common.openapi import problems
from app.common.types import IdPath
from app.db import DbSession
from app.errors import TooManyRequests
from app.feedback import surveys
from app.feedback.schemas import SurveyAnswer, SurveyOut, SurveyQuestion, SurveyThanks
from app.idempotency.guard import IdempotencyGuard

router = APIRouter(tags=["satisfaction"])


def _search_config(request: Request) -> str:
    config: str = request.app.state.settings.search_config
    return config


async def _per_client_limit(request: Request) -> None:
    limiter: RateLimiter = request.app.state.survey_rate_limiter
    client = request.client.host if request.client else "unknown"
    retry_after = limiter.acquire(("survey", client))
    if retry_after is not None:
        raise TooManyRequests(retry_after)


ClientLimited = Depends(_per_client_limit)


def _anonymous_problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {code: doc for code, doc in problems(*statuses).items() if code != 401}


@router.get("/tickets/{ticket_id}/satisfaction", responses=problems(404))
async def get_ticket_satisfaction(
    session: DbSession, viewer: CurrentUser, ticket_id: IdPath
) -> SurveyOut:
    """The satisfaction survey of the ticket's latest resolution, with its answer."""
    return await surveys.read_for_ticket(session, viewer, ticket_id)


@router.post(
    "/tickets/{ticket_id}/satisfaction",
    status_code=status.HTTP_201_CREATED,
    response_model=SurveyOut,
    responses=problems(403, 404, 409),
)
async def answer_ticket_satisfaction(
    request: Request,
    session: DbSession,
    requester: CurrentUser,
    idempotency: IdempotencyGuard,
    ticket_id: IdPath,
    answer: SurveyAnswer,
) -> JSONResponse:
    """Rate how the request was handled (the requester, once per resolution)."""
    survey = await surveys.answer_in_portal(
        session, requester, ticket_id, answer, search_config=_search_config(request)
    )
    body = await surveys.present(session, survey, requester.locale)
    return await idempotency.respond(
        body,
        status_code=status.HTTP_201_CREATED,
        headers={"Location": f"/api/v1/tickets/{ticket_id}/satisfaction"},
    )


@router.get(
    "/surveys/{token}",
    dependencies=[ClientLimited],
    responses=_anonymous_problems(404, 409),
)
async def get_survey(session: DbSession, token: str) -> SurveyQuestion:
    """What the emailed link shows, without logging in: the subject and the question."""
    return await surveys.question_for_link(session, token)


@router.post(
    "/surveys/{token}",
    status_code=status.HTTP_201_CREATED,
    dependencies=[ClientLimited],
    responses=_anonymous_problems(404, 409),
)
async def answer_survey(
    request: Request,
    session: DbSession,
    token: str,
    answer: SurveyAnswer,
) -> SurveyThanks:
    """Answer through the emailed link, without logging in. The link works once."""
    survey = await surveys.answer_by_link(
        session, token, answer, search_config=_search_config(request)
    )
    assert survey.rating is not None
    assert survey.answered_at is not None
    return SurveyThanks(
        rating=survey.rating, comment=survey.comment, answered_at=survey.answered_at
    )
