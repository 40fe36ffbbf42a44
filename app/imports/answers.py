"""What customers said in the old helpdesk, stored as this desk stores it.

A rating answers the survey of a resolution: every move to `resolved` made by someone
gets a `satisfaction_surveys` row (one per resolution, as app/feedback/invitations.py
sends one), owner and team as they were then, and a `rating` step answers the latest
one (`answered_via` `imported`). So `GET /tickets/{id}/satisfaction` shows it, and CSAT
and its response rate count the same rows the desk's own surveys make. No invitation is
written: nothing is sent. An imported survey never opens for an answer now (it expires
at the latest when it is imported): history is not asked again.

Complaints and suggestions become `feedback` records on the ticket, already
`acknowledged` (they were seen in the old helpdesk, so they do not flood the triage
list as new), created at their original time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.feedback.config import FeedbackConfig
from app.feedback.service import search_vector
from app.feedback.tokens import new_nonce, survey_token, token_hash
from app.models import (
    Channel,
    Feedback,
    FeedbackChange,
    FeedbackKind,
    FeedbackStatus,
    Role,
    SatisfactionSurvey,
    SurveyAnswerVia,
    Ticket,
    User,
)

IMPORTED_FEEDBACK_STATUS = FeedbackStatus.ACKNOWLEDGED


@dataclass
class Survey:
    """A survey of one resolution, answered or not by a later `rating` step."""

    resolution: int
    sent_at: datetime
    owner: User | None
    resolved_by: User
    rating: int | None = None
    comment: str | None = None
    answered_at: datetime | None = None
    # The `feedback.received` event of the answer: it names the survey once it has an id.
    answer_data: dict[str, Any] | None = None


@dataclass
class Said:
    """A complaint or suggestion, and the data of its `feedback.received` event."""

    kind: FeedbackKind
    body: str
    author: User
    at: datetime
    data: dict[str, Any]


def answer(
    survey: Survey, rating: int, comment: str | None, at: datetime, team_id: int | None
) -> dict[str, Any]:
    """The rating on the survey, and its event's data as a survey answer's
    (app/feedback/surveys.py), less what only a live answer does (alerts, reopening)."""
    survey.rating, survey.comment, survey.answered_at = rating, comment, at
    owner = survey.owner
    survey.answer_data = {
        "source": "survey",
        "resolution": survey.resolution,
        "rating": rating,
        "comment": comment,
        "low": rating <= FeedbackConfig.low_rating,
        "owner": None if owner is None else {"id": owner.id, "name": owner.name},
        "team_id": team_id,
    }
    return survey.answer_data


async def write(
    session: AsyncSession,
    ticket: Ticket,
    requester: User,
    importer: User,
    surveys: list[Survey],
    said: list[Said],
    *,
    now: datetime,
    search_config: str,
) -> None:
    """The survey and feedback rows of one imported ticket; fills in their ids in the
    events' data (the events are inserted after this)."""
    rows = [_survey_row(ticket, requester, survey, now) for survey in surveys]
    records = [_feedback_row(ticket, requester, item, search_config) for item in said]
    session.add_all([*rows, *records])
    await session.flush()
    for survey, row in zip(surveys, rows, strict=True):
        if survey.answer_data is not None:
            survey.answer_data["survey_id"] = row.id
    for item, record in zip(said, records, strict=True):
        item.data["feedback_id"] = record.id
        session.add(
            FeedbackChange(
                feedback_id=record.id,
                from_status=None,
                to_status=IMPORTED_FEEDBACK_STATUS,
                actor_id=importer.id,
                created_at=item.at,
            )
        )


def _survey_row(
    ticket: Ticket, requester: User, survey: Survey, now: datetime
) -> SatisfactionSurvey:
    # A token nobody was ever sent: the row needs one, and no link can answer it.
    nonce = new_nonce()
    token = survey_token(FeedbackConfig.secret, ticket.id, survey.resolution, nonce)
    return SatisfactionSurvey(
        ticket_id=ticket.id,
        resolution=survey.resolution,
        requester_id=requester.id,
        owner_id=None if survey.owner is None else survey.owner.id,
        team_id=ticket.team_id,
        resolved_by_id=survey.resolved_by.id,
        token_hash=token_hash(token),
        token_nonce=nonce,
        expires_at=min(survey.sent_at + FeedbackConfig.survey_expiry, now),
        answered_at=survey.answered_at,
        answered_via=None if survey.answered_at is None else SurveyAnswerVia.IMPORTED,
        rating=survey.rating,
        comment=survey.comment,
        created_at=survey.sent_at,
    )


def _feedback_row(ticket: Ticket, requester: User, item: Said, search_config: str) -> Feedback:
    channel = Channel(item.data["channel"])
    return Feedback(
        kind=item.kind,
        status=IMPORTED_FEEDBACK_STATUS,
        body=item.body,
        author_id=item.author.id,
        customer_id=requester.id if requester.role is Role.CUSTOMER else None,
        ticket_id=ticket.id,
        category=ticket.category,
        tags=[],
        channel=channel,
        search=search_vector(search_config, item.body, ticket.category, [], None),
        created_at=item.at,
        updated_at=item.at,
    )
