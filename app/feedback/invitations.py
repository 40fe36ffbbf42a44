"""Sending a satisfaction survey when a ticket is resolved.

Called from the one place every status move passes (app.tickets.service.move_status),
inside the transaction that resolves the ticket: the survey row and its invitation in
the outbox commit with the resolution, or not at all. Kept free of ticket-service
imports so that call creates no import circle.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.feedback import notices
from app.feedback.config import FeedbackConfig
from app.feedback.tokens import new_nonce, survey_token, token_hash
from app.models import Role, SatisfactionSurvey, Ticket, User


async def invite_on_resolution(
    session: AsyncSession, ticket: Ticket, *, resolved_by: User, now: datetime
) -> SatisfactionSurvey | None:
    """One survey per resolution: a reopened and re-resolved ticket gets a new one, and
    the previous, unanswered, stops working (only a ticket's latest survey is open)."""
    requester = await session.get(User, ticket.requester_id)
    if requester is None or not requester.active or requester.role is not Role.CUSTOMER:
        return None
    previous = await session.scalar(
        select(func.max(SatisfactionSurvey.resolution)).where(
            SatisfactionSurvey.ticket_id == ticket.id
        )
    )
    resolution = (previous or 0) + 1
    nonce = new_nonce()
    token = survey_token(FeedbackConfig.secret, ticket.id, resolution, nonce)
    survey = SatisfactionSurvey(
        ticket_id=ticket.id,
        resolution=resolution,
        requester_id=requester.id,
        owner_id=ticket.owner_id,
        team_id=ticket.team_id,
        resolved_by_id=resolved_by.id,
        token_hash=token_hash(token),
        token_nonce=nonce,
        expires_at=now + FeedbackConfig.survey_expiry,
        created_at=now,
    )
    session.add(survey)
    await session.flush()
    await notices.invite(session, survey, ticket, nonce)
    return survey
