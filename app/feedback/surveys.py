"""Satisfaction surveys: reading and answering them, in the portal or through the link.

An answer is one per survey (one survey per resolution). It goes on the ticket's
timeline as `feedback.received` (internal: for agents), tied to the owner and team the
ticket had when it was resolved. A low rating alerts the owner's supervisors and, when
configured, reopens the ticket (a closed one gets a follow-up ticket) so the owner can
put it right.

Through the link nothing is revealed: an unknown, forged, expired or superseded token
are one and the same 404. Only a holder of a real token learns it was already used.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict, Forbidden, NotFound
from app.events.kinds import EventKind
from app.events.recorder import record_event
from app.events.records import person
from app.events.visibility import get_visible_ticket
from app.feedback import notices
from app.feedback.config import FeedbackConfig
from app.feedback.schemas import SurveyAnswer, SurveyOut, SurveyQuestion, SurveyState
from app.feedback.tokens import plausible, token_hash
from app.models import (
    Role,
    SatisfactionSurvey,
    SurveyAnswerVia,
    Team,
    TeamMember,
    Ticket,
    TicketStatus,
    User,
    Visibility,
)
from app.tickets.filing import create_ticket
from app.tickets.schemas import PersonRef, TicketCreate
from app.tickets.service import OWNER_ROLES, change_owner, move_status, touch

_LINK_NOT_VALID = (
    "This survey link is not valid: it may have expired or been replaced by a newer survey."
)


def state_of(survey: SatisfactionSurvey, now: datetime) -> SurveyState:
    if survey.answered_at is not None:
        return SurveyState.ANSWERED
    if survey.expires_at <= now:
        return SurveyState.EXPIRED
    return SurveyState.PENDING


async def _latest(
    session: AsyncSession, ticket_id: int, *, for_update: bool = False
) -> SatisfactionSurvey | None:
    query = (
        select(SatisfactionSurvey)
        .where(SatisfactionSurvey.ticket_id == ticket_id)
        .order_by(SatisfactionSurvey.resolution.desc())
        .limit(1)
    )
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    return await session.scalar(query)


# The portal -------------------------------------------------------------------


async def read_for_ticket(session: AsyncSession, viewer: User, ticket_id: int) -> SurveyOut:
    """The survey of the ticket's latest resolution, for anyone who may see the ticket."""
    await get_visible_ticket(session, viewer, ticket_id)
    survey = await _latest(session, ticket_id)
    if survey is None:
        raise NotFound(f"Ticket {ticket_id} has no satisfaction survey: it is sent on resolution.")
    return await present(session, survey, viewer.locale)


async def answer_in_portal(
    session: AsyncSession, viewer: User, ticket_id: int, answer: SurveyAnswer, *, search_config: str
) -> SatisfactionSurvey:
    ticket = await get_visible_ticket(session, viewer, ticket_id, for_update=True)
    if viewer.id != ticket.requester_id:
        raise Forbidden("Only the requester answers the satisfaction survey.")
    survey = await _latest(session, ticket_id, for_update=True)
    if survey is None:
        raise Conflict(f"Ticket {ticket_id} has no survey yet: it is sent when it is resolved.")
    match state_of(survey, datetime.now(UTC)):
        case SurveyState.ANSWERED:
            raise Conflict("This survey has already been answered: one answer per resolution.")
        case SurveyState.EXPIRED:
            raise Conflict("This survey has expired.")
    await _record_answer(
        session, survey, ticket, viewer, answer, SurveyAnswerVia.PORTAL, search_config
    )
    return survey


async def present(session: AsyncSession, survey: SatisfactionSurvey, locale: str) -> SurveyOut:
    owner = None if survey.owner_id is None else await session.get(User, survey.owner_id)
    team = None if survey.team_id is None else await session.get(Team, survey.team_id)
    return SurveyOut(
        id=survey.id,
        ticket_id=survey.ticket_id,
        resolution=survey.resolution,
        state=state_of(survey, datetime.now(UTC)),
        question=notices.question(locale),
        rating=survey.rating,
        comment=survey.comment,
        owner=None if owner is None else PersonRef(id=owner.id, name=owner.name),
        team=None if team is None else PersonRef(id=team.id, name=team.name),
        sent_at=survey.created_at,
        expires_at=survey.expires_at,
        answered_at=survey.answered_at,
        answered_via=survey.answered_via,
    )


# The link -----------------------------------------------------------------------


async def _by_token(session: AsyncSession, token: str) -> tuple[SatisfactionSurvey, User]:
    """The open survey a token names, with its requester; else the one 404."""
    survey = None
    if plausible(token):
        survey = await session.scalar(
            select(SatisfactionSurvey).where(SatisfactionSurvey.token_hash == token_hash(token))
        )
    requester = None if survey is None else await session.get(User, survey.requester_id)
    if survey is None or requester is None or not requester.active:
        raise NotFound(_LINK_NOT_VALID)
    latest = await _latest(session, survey.ticket_id)
    if survey.expires_at <= datetime.now(UTC) or latest is None or latest.id != survey.id:
        raise NotFound(_LINK_NOT_VALID)
    if survey.answered_at is not None:
        raise Conflict("This survey has already been answered. Thank you!")
    return survey, requester


async def question_for_link(session: AsyncSession, token: str) -> SurveyQuestion:
    survey, requester = await _by_token(session, token)
    subject = await session.scalar(select(Ticket.subject).where(Ticket.id == survey.ticket_id))
    return SurveyQuestion(subject=subject or "", question=notices.question(requester.locale))


async def answer_by_link(
    session: AsyncSession, token: str, answer: SurveyAnswer, *, search_config: str
) -> SatisfactionSurvey:
    survey, requester = await _by_token(session, token)
    # Lock in the order every ticket write uses (ticket, then what hangs off it), then
    # look again: a concurrent answer may have landed in between.
    ticket = await session.scalar(
        select(Ticket)
        .where(Ticket.id == survey.ticket_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    await session.refresh(survey, with_for_update=True)
    if ticket is None:
        raise NotFound(_LINK_NOT_VALID)
    if survey.answered_at is not None:
        raise Conflict("This survey has already been answered. Thank you!")
    await _record_answer(
        session, survey, ticket, requester, answer, SurveyAnswerVia.LINK, search_config
    )
    return survey


# Recording an answer ---------------------------------------------------------------


async def _record_answer(
    session: AsyncSession,
    survey: SatisfactionSurvey,
    ticket: Ticket,
    requester: User,
    answer: SurveyAnswer,
    via: SurveyAnswerVia,
    search_config: str,
) -> None:
    now = datetime.now(UTC)
    survey.rating = answer.rating
    survey.comment = answer.comment
    survey.answered_at = now
    survey.answered_via = via
    owner = None if survey.owner_id is None else await session.get(User, survey.owner_id)
    low = answer.rating <= FeedbackConfig.low_rating
    touch(ticket, now)
    await record_event(
        session,
        ticket,
        EventKind.FEEDBACK_RECEIVED,
        actor=requester,
        visibility=Visibility.INTERNAL,
        data={
            "source": "survey",
            "survey_id": survey.id,
            "resolution": survey.resolution,
            "rating": answer.rating,
            "comment": answer.comment,
            "low": low,
            "owner": person(owner),
            "team_id": survey.team_id,
        },
    )
    if not low:
        return
    supervisors = await supervisors_of(session, survey.owner_id, survey.team_id)
    await notices.alert_low_rating(
        session, supervisors, survey, ticket, customer=requester, owner=owner
    )
    if FeedbackConfig.low_rating_reopens:
        await _follow_up(session, ticket, requester, owner, answer, now, search_config)


async def supervisors_of(
    session: AsyncSession, owner_id: int | None, team_id: int | None
) -> list[int]:
    """The active supervisors of the owner's teams and of the ticket's team; when those
    teams have none, every active supervisor (an alert must reach someone)."""
    team_ids = set()
    if owner_id is not None:
        team_ids |= set(
            await session.scalars(select(TeamMember.team_id).where(TeamMember.user_id == owner_id))
        )
    if team_id is not None:
        team_ids.add(team_id)
    supervisors = select(User.id).where(User.role == Role.SUPERVISOR, User.active.is_(True))
    if owner_id is not None:
        supervisors = supervisors.where(User.id != owner_id)
    found: list[int] = []
    if team_ids:
        found = list(
            await session.scalars(
                supervisors.join(TeamMember, TeamMember.user_id == User.id)
                .where(TeamMember.team_id.in_(team_ids))
                .distinct()
                .order_by(User.id)
            )
        )
    if not found:
        found = list(await session.scalars(supervisors.order_by(User.id)))
    return found


async def _follow_up(
    session: AsyncSession,
    ticket: Ticket,
    requester: User,
    owner: User | None,
    answer: SurveyAnswer,
    now: datetime,
    search_config: str,
) -> None:
    """Put the case back in front of its owner: reopen it, or, closed, open a follow-up."""
    if ticket.status is TicketStatus.RESOLVED:
        await move_status(session, ticket, TicketStatus.OPEN, actor=requester, now=now)
        return
    if ticket.status is not TicketStatus.CLOSED:
        return  # already reopened: it is in front of someone
    description = f"Follow-up to #{ticket.id}: the customer rated its resolution {answer.rating}/5."
    if answer.comment:
        description += f"\n\n{answer.comment}"
    filed = await create_ticket(
        session,
        requester,
        TicketCreate(
            subject=f"Follow-up: {ticket.subject}"[:300],
            description=description,
            channel=ticket.channel,
            urgency=ticket.urgency,
            impact=ticket.impact,
            category=ticket.category,
            team_id=ticket.team_id,
        ),
        search_config=search_config,
    )
    follow_up = filed.ticket
    eligible = owner is not None and owner.active and owner.role in OWNER_ROLES
    if owner is not None and eligible and follow_up.owner_id != owner.id:
        await change_owner(session, follow_up, owner, actor=None, reason="routing", now=now)
