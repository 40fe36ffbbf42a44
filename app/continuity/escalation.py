"""Escalation: a ticket moves up a level, to a named team or person, or to the next
level its team is configured with (first line -> second line -> ...); at the top of a
chain, to a supervisor of the team."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.continuity.policy import team_policy
from app.continuity.routing import OPEN_WORK, Router
from app.continuity.schemas import EscalateRequest
from app.errors import Conflict, UnprocessableEntity
from app.events.visibility import get_visible_ticket
from app.models import Team, Ticket, User
from app.people.availability import OWNER_ROLES, available_ids
from app.tickets.concurrency import check_if_match
from app.tickets.service import change_owner


def _team_ref(team: Team | None) -> dict[str, Any] | None:
    return None if team is None else {"id": team.id, "name": team.name}


async def escalate(
    session: AsyncSession,
    actor: User,
    ticket_id: int,
    data: EscalateRequest,
    *,
    if_match: str | None,
) -> Ticket:
    ticket = await get_visible_ticket(session, actor, ticket_id, for_update=True)
    check_if_match(if_match, ticket, actor)
    return await escalate_locked(session, ticket, actor, data)


async def escalate_locked(
    session: AsyncSession, ticket: Ticket, actor: User | None, data: EscalateRequest
) -> Ticket:
    """Escalate a ticket its caller has locked: by someone, or (actor None) by the desk
    itself when a service level target was missed."""
    if ticket.status not in OPEN_WORK:
        raise Conflict(f"Ticket {ticket.id} is {ticket.status.value}; only open work escalates.")
    now = datetime.now(UTC)
    router = Router(session, now)
    from_team = None if ticket.team_id is None else await session.get(Team, ticket.team_id)
    from_policy = await team_policy(session, ticket.team_id)

    person = None if data.owner_id is None else await _available_person(session, data.owner_id, now)
    to_team: Team | None = None
    if data.team_id is not None:
        to_team = await session.get(Team, data.team_id)
        if to_team is None:
            raise UnprocessableEntity(f"Team {data.team_id} does not exist.")
    elif person is None and from_policy.escalation_team_id is not None:
        to_team = await session.get(Team, from_policy.escalation_team_id)

    if to_team is not None and person is None:
        if to_team.id == ticket.team_id:
            raise Conflict(f"Ticket {ticket.id} is already with {to_team.name}.")
        exclude = () if ticket.owner_id is None else (ticket.owner_id,)
        person = await router.pick(ticket, to_team.id, exclude=exclude)
    elif to_team is None and person is None:
        person = await _a_supervisor(router, ticket)
    if person is not None and person.id == ticket.owner_id and to_team is None:
        raise Conflict(f"Ticket {ticket.id} is already with {person.name}.")

    to_policy = await team_policy(session, None if to_team is None else to_team.id)
    if to_team is not None:
        ticket.team_id = to_team.id
    await change_owner(
        session,
        ticket,
        person,
        actor=actor,
        reason="escalation",
        note=data.note,
        extra={
            "escalation": {
                "from_team": _team_ref(from_team),
                "to_team": _team_ref(to_team),
                "level": {
                    "from": from_policy.level if from_team is not None else None,
                    "to": to_policy.level if to_team is not None else None,
                },
            }
        },
        now=now,
    )
    return ticket


async def _available_person(session: AsyncSession, user_id: int, now: datetime) -> User:
    person = await session.get(User, user_id)
    if person is None or person.role not in OWNER_ROLES:
        raise UnprocessableEntity(f"User {user_id} is not an agent or supervisor.")
    if not await available_ids(session, [user_id], now):
        raise UnprocessableEntity(
            f"{person.name} is not available now; escalate to someone who is, or to a team."
        )
    return person


async def _a_supervisor(router: Router, ticket: Ticket) -> User:
    """The top of a chain: the least loaded available supervisor of the ticket's team."""
    if ticket.team_id is not None:
        supervisors = [
            s
            for s in await router.members(ticket.team_id, None, supervisors_only=True)
            if s.id != ticket.owner_id
        ]
        chosen = await router.least_loaded(supervisors)
        if chosen is not None:
            return chosen
    raise Conflict(
        f"Ticket {ticket.id} has no next level: its team names none and no other supervisor "
        "of the team is available. Name a team or a person."
    )
