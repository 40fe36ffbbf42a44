"""HTTP for merges: a duplicate ticket into its primary, a customer into another."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.auth.dependencies import AdminUser, StaffUser
from app.common.openapi import problems
from app.common.types import IdPath
from app.db import DbSession
from app.errors import NotFound
from app.merging import customers, service
from app.merging.schemas import CustomerMerge, CustomerMergeOut, TicketMerge
from app.tickets import repository
from app.tickets.concurrency import etag
from app.tickets.router import IfMatch
from app.tickets.schemas import TicketOut

router = APIRouter(tags=["merge"])


@router.post("/tickets/{ticket_id}/merge", responses=problems(403, 404, 409, 412))
async def merge_ticket(
    session: DbSession,
    actor: StaffUser,
    ticket_id: IdPath,
    data: TicketMerge,
    response: Response,
    if_match: IfMatch = None,
) -> TicketOut:
    """Close this ticket as a duplicate of `into_id` and continue there; returns the primary.

    Two versions guard it: `If-Match` is this ticket's ETag, `into_version` the primary's.
    The primary's timeline then shows the duplicate's messages and events too (each to
    whoever may see the duplicate), its followers follow the primary, and replies to the
    duplicate land on the primary. Its requester is told once where the request lives now.
    """
    primary = await service.merge_tickets(session, actor, ticket_id, data, if_match=if_match)
    ticket = await repository.read_ticket(session, actor, primary.id)
    if ticket is None:
        raise NotFound(f"Ticket {primary.id} does not exist.")
    response.headers["ETag"] = etag(ticket.version)
    return ticket


@router.post("/users/{user_id}/merge", responses=problems(403, 404, 409))
async def merge_customer(
    session: DbSession, actor: AdminUser, user_id: IdPath, data: CustomerMerge
) -> CustomerMergeOut:
    """Merge this customer record into `into_id`: its tickets, identities, follows, surveys
    and feedback follow the survivor; this record is deactivated and points at it."""
    return await customers.merge_customers(session, actor, user_id, data.into_id)
