"""HTTP for problems: link an incident, unlink it, read a ticket's links, and send a
public update to every requester of a problem's incidents."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import JSONResponse

from app.auth.dependencies import CurrentUser, StaffUser
from app.common.openapi import problems
from app.common.pagination import Cursor, Limit
from app.common.types import IdPath
from app.db import DbSession
from app.errors import NotFound
from app.idempotency.guard import IdempotencyGuard
from app.models import LinkRelation, User
from app.problems import service
from app.problems.schemas import (
    IncidentUpdate,
    IncidentUpdateOut,
    LinkedPage,
    ProblemLink,
)
from app.tickets import repository
from app.tickets.concurrency import etag
from app.tickets.router import IfMatch
from app.tickets.schemas import TicketOut

router = APIRouter(tags=["problems"])


async def _ticket(
    session: DbSession, viewer: User, ticket_id: int, response: Response
) -> TicketOut:
    ticket = await repository.read_ticket(session, viewer, ticket_id)
    if ticket is None:
        raise NotFound(f"Ticket {ticket_id} does not exist.")
    response.headers["ETag"] = etag(ticket.version)
    return ticket


@router.post("/tickets/{ticket_id}/link", responses=problems(403, 404, 409, 412))
async def link_ticket(
    session: DbSession,
    actor: StaffUser,
    ticket_id: IdPath,
    data: ProblemLink,
    response: Response,
    if_match: IfMatch = None,
) -> TicketOut:
    """Tie this incident to the problem ticket behind it (`If-Match`: the incident's ETag).
    Resolving the problem resolves the incidents still waiting on it."""
    await service.link_to_problem(session, actor, ticket_id, data.problem_id, if_match=if_match)
    return await _ticket(session, actor, ticket_id, response)


@router.delete("/tickets/{ticket_id}/link", responses=problems(403, 404, 412))
async def unlink_ticket(
    session: DbSession,
    actor: StaffUser,
    ticket_id: IdPath,
    response: Response,
    if_match: IfMatch = None,
) -> TicketOut:
    """Untie this incident from its problem (nothing happens to one linked to none)."""
    await service.unlink_from_problem(session, actor, ticket_id, if_match=if_match)
    return await _ticket(session, actor, ticket_id, response)


@router.get("/tickets/{ticket_id}/linked", responses=problems(400, 404))
async def linked_tickets(
    session: DbSession,
    viewer: CurrentUser,
    ticket_id: IdPath,
    relation: LinkRelation | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> LinkedPage:
    """The ticket's links: its problem, or (a problem) its incidents and their count, and
    the merges it took part in. Customers see only links to tickets of their own."""
    return await service.linked(
        session, viewer, ticket_id, relation=relation, limit=limit, cursor=cursor
    )


@router.post(
    "/tickets/{ticket_id}/linked/messages",
    status_code=status.HTTP_201_CREATED,
    response_model=IncidentUpdateOut,
    responses=problems(403, 404, 409),
)
async def update_incidents(
    request: Request,
    session: DbSession,
    actor: StaffUser,
    idempotency: IdempotencyGuard,
    ticket_id: IdPath,
    data: IncidentUpdate,
) -> JSONResponse:
    """A public update on the problem, sent to every requester of its open incidents: each
    once, as a reply on their own ticket."""
    config: str = request.app.state.settings.search_config
    problem_message_id, posted = await service.post_update(
        session, actor, ticket_id, data.body, search_config=config
    )
    return await idempotency.respond(
        IncidentUpdateOut(problem_message_id=problem_message_id, incidents=posted),
        status_code=status.HTTP_201_CREATED,
    )
