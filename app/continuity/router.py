"""HTTP for continuity: absences, skills, routing rules, team levels, escalation, briefs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, Response, status
from fastapi.responses import JSONResponse

from app.auth.dependencies import ManagerUser, StaffUser
from app.common.openapi import problems
from app.common.pagination import Cursor, Limit, Page, decode_id_cursor, next_id_cursor
from app.common.types import IdPath
from app.continuity import escalation, service
from app.continuity.brief import BriefOut, brief_for
from app.continuity.schemas import (
    AbsenceCreate,
    AbsenceOut,
    AbsenceUpdate,
    EscalateRequest,
    RoutingRuleCreate,
    RoutingRuleOut,
    RoutingRuleUpdate,
    SkillsOut,
    SkillsUpdate,
    TeamContinuityOut,
    TeamContinuityUpdate,
)
from app.db import DbSession
from app.errors import NotFound
from app.events.visibility import get_visible_ticket
from app.idempotency.guard import IdempotencyGuard
from app.models import Absence, RoutingRule, User
from app.tickets import repository
from app.tickets.concurrency import etag
from app.tickets.schemas import TicketOut

router = APIRouter(tags=["continuity"])

IfMatch = Annotated[
    str | None,
    Header(max_length=200, description='The ETag you last read, e.g. "3"; stale is 412.'),
]


def _absence_out(absence: Absence, now: datetime | None = None) -> AbsenceOut:
    now = now or datetime.now(UTC)
    return AbsenceOut(
        id=absence.id,
        user_id=absence.user_id,
        starts_at=absence.starts_at,
        ends_at=absence.ends_at,
        reason=absence.reason,
        backup_id=absence.backup_id,
        state=service.absence_state(absence, now),
        returned_at=absence.returned_at,
        created_by_id=absence.created_by_id,
        created_at=absence.created_at,
        updated_at=absence.updated_at,
    )


def _rule_out(rule: RoutingRule) -> RoutingRuleOut:
    return RoutingRuleOut.model_validate(rule, from_attributes=True)


# -- absences --------------------------------------------------------------------


@router.post(
    "/users/{user_id}/absences",
    status_code=status.HTTP_201_CREATED,
    response_model=AbsenceOut,
    responses=problems(403, 404, 409),
)
async def create_absence(
    session: DbSession,
    actor: StaffUser,
    user_id: IdPath,
    data: AbsenceCreate,
    idempotency: IdempotencyGuard,
) -> JSONResponse:
    """Record time away. Agents record their own; supervisors anyone's. An absence that
    has already started hands the person's open tickets over at once."""
    absence = await service.create_absence(session, actor, user_id, data)
    return await idempotency.respond(
        _absence_out(absence),
        status_code=status.HTTP_201_CREATED,
        headers={"Location": f"/api/v1/users/{user_id}/absences/{absence.id}"},
    )


@router.get("/users/{user_id}/absences", responses=problems(400, 403, 404))
async def list_absences(
    session: DbSession, actor: StaffUser, user_id: IdPath, limit: Limit = 50, cursor: Cursor = None
) -> Page[AbsenceOut]:
    absences = await service.list_absences(
        session, actor, user_id, after_id=decode_id_cursor(cursor), limit=limit
    )
    now = datetime.now(UTC)
    return Page(
        items=[_absence_out(a, now) for a in absences],
        next_cursor=next_id_cursor([a.id for a in absences], limit),
    )


@router.get("/users/{user_id}/absences/{absence_id}", responses=problems(403, 404))
async def get_absence(
    session: DbSession, actor: StaffUser, user_id: IdPath, absence_id: IdPath
) -> AbsenceOut:
    return _absence_out(await service.get_absence(session, actor, user_id, absence_id))


@router.patch("/users/{user_id}/absences/{absence_id}", responses=problems(403, 404, 409))
async def update_absence(
    session: DbSession,
    actor: StaffUser,
    user_id: IdPath,
    absence_id: IdPath,
    data: AbsenceUpdate,
) -> AbsenceOut:
    """Change an absence; set `ends_at` to now to end it early (tickets come back)."""
    absence = await service.update_absence(session, actor, user_id, absence_id, data)
    return _absence_out(absence)


@router.delete(
    "/users/{user_id}/absences/{absence_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(403, 404, 409),
)
async def delete_absence(
    session: DbSession, actor: StaffUser, user_id: IdPath, absence_id: IdPath
) -> Response:
    """Cancel an absence that has not started yet."""
    await service.delete_absence(session, actor, user_id, absence_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- skills ----------------------------------------------------------------------


@router.get("/users/{user_id}/skills", responses=problems(403, 404))
async def get_skills(session: DbSession, _staff: StaffUser, user_id: IdPath) -> SkillsOut:
    """The categories someone takes when tickets are routed (none: every category)."""
    return SkillsOut(user_id=user_id, categories=await service.get_skills(session, user_id))


@router.put("/users/{user_id}/skills", responses=problems(403, 404))
async def set_skills(
    session: DbSession, _manager: ManagerUser, user_id: IdPath, data: SkillsUpdate
) -> SkillsOut:
    categories = await service.set_skills(session, user_id, data.categories)
    return SkillsOut(user_id=user_id, categories=categories)


# -- routing rules ---------------------------------------------------------------


@router.get("/routing-rules", responses=problems(400, 403))
async def list_routing_rules(
    session: DbSession, _staff: StaffUser, limit: Limit = 50, cursor: Cursor = None
) -> Page[RoutingRuleOut]:
    """Which team new tickets of each category go to."""
    rules = await service.list_rules(session, after_id=decode_id_cursor(cursor), limit=limit)
    return Page(
        items=[_rule_out(r) for r in rules],
        next_cursor=next_id_cursor([r.id for r in rules], limit),
    )


@router.post(
    "/routing-rules",
    status_code=status.HTTP_201_CREATED,
    response_model=RoutingRuleOut,
    responses=problems(403, 409),
)
async def create_routing_rule(
    session: DbSession,
    _manager: ManagerUser,
    data: RoutingRuleCreate,
    idempotency: IdempotencyGuard,
) -> JSONResponse:
    rule = await service.create_rule(session, data)
    return await idempotency.respond(
        _rule_out(rule),
        status_code=status.HTTP_201_CREATED,
        headers={"Location": f"/api/v1/routing-rules/{rule.id}"},
    )


@router.get("/routing-rules/{rule_id}", responses=problems(403, 404))
async def get_routing_rule(
    session: DbSession, _staff: StaffUser, rule_id: IdPath
) -> RoutingRuleOut:
    return _rule_out(await service.get_rule(session, rule_id))


@router.patch("/routing-rules/{rule_id}", responses=problems(403, 404))
async def update_routing_rule(
    session: DbSession, _manager: ManagerUser, rule_id: IdPath, data: RoutingRuleUpdate
) -> RoutingRuleOut:
    return _rule_out(await service.update_rule(session, rule_id, data.team_id))


@router.delete(
    "/routing-rules/{rule_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(403, 404),
)
async def delete_routing_rule(
    session: DbSession, _manager: ManagerUser, rule_id: IdPath
) -> Response:
    await service.delete_rule(session, rule_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- team levels and hand-back ---------------------------------------------------


@router.get("/teams/{team_id}/continuity", responses=problems(403, 404))
async def get_team_continuity(
    session: DbSession, _staff: StaffUser, team_id: IdPath
) -> TeamContinuityOut:
    """The team's escalation level and next level, and its hand-back policy."""
    return await service.get_team_continuity(session, team_id)


@router.patch("/teams/{team_id}/continuity", responses=problems(403, 404))
async def update_team_continuity(
    session: DbSession, _manager: ManagerUser, team_id: IdPath, data: TeamContinuityUpdate
) -> TeamContinuityOut:
    return await service.update_team_continuity(session, team_id, data)


# -- escalation and the brief ----------------------------------------------------


async def _read(session: DbSession, viewer: User, ticket_id: int) -> TicketOut:
    ticket = await repository.read_ticket(session, viewer, ticket_id)
    if ticket is None:
        raise NotFound(f"Ticket {ticket_id} does not exist.")
    return ticket


@router.post("/tickets/{ticket_id}/escalate", responses=problems(403, 404, 409, 412))
async def escalate_ticket(
    session: DbSession,
    actor: StaffUser,
    ticket_id: IdPath,
    data: EscalateRequest,
    response: Response,
    if_match: IfMatch = None,
) -> TicketOut:
    """Move the ticket up: to the team or person named, or to the next level of its
    team (at the top, a supervisor). The customer is told it was escalated, and to whom."""
    await escalation.escalate(session, actor, ticket_id, data, if_match=if_match)
    ticket = await _read(session, actor, ticket_id)
    response.headers["ETag"] = etag(ticket.version)
    return ticket


@router.get("/tickets/{ticket_id}/brief", responses=problems(403, 404))
async def get_ticket_brief(session: DbSession, viewer: StaffUser, ticket_id: IdPath) -> BriefOut:
    """What a new owner needs to know, built from the timeline: the problem as first
    stated, the latest customer message, what was done, open questions, the SLA."""
    ticket = await get_visible_ticket(session, viewer, ticket_id)
    owner = None if ticket.owner_id is None else await session.get(User, ticket.owner_id)
    return await brief_for(session, ticket, owner)
