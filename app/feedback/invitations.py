"""Sending a satisfaction survey when a ticket is resolved.

A reaction to `ticket.status_changed`, in the transaction that resolves the ticket: the
survey row and its invitation in the outbox commit with the resolution, or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.events.reactions import Batch
from app.events.records import Recorded
from app.feedback import notices
from app.feedback.config import FeedbackConfig
from app.feedback.tokens import new_nonce, survey_token, token_hash
from app.models import Role, SatisfactionSurvey, Ticket, TicketStatus, User
from app.notifications.outbox import PERSONAL_NOTICES

_RESOLVED = TicketStatus.RESOLVED.value


async def invite_on_resolution(batch: Batch, recorded: Sequence[Recorded]) -> None:
    """Every resolution asks the requester how it went."""
    for item in recorded:
        data = item.event.data
        if data.get("to") != _RESOLVED or data.get("from") == _RESOLVED or item.actor is None:
            continue
        survey = await _new_survey(
            batch.session, item.ticket, resolved_by=item.actor, now=item.event.created_at
        )
        if survey is not None:
            invited, nonce = survey
            batch.leave(PERSONAL_NOTICES, notices.invitation(invited, item.ticket, nonce))


async def _new_survey(
    session: AsyncSession, ticket: Ticket, *, resolved_by: User, now: datetime
) -> tuple[SatisfactionSurvey, str] | None:
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
    return survey, nonce
