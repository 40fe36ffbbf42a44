"""HTTP for tickets: file, read, list and search, edit, assign, change status."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, Field
from starlette.convertors import Convertor, register_url_convertor

from app.attachments.uploads import store_uploads
from app.auth.dependencies import CurrentUser, StaffUser
from app.common.bodies import documented, json_or_multipart, read_body
from app.common.openapi import problems
from app.common.pagination import Cursor, Limit, Page
from app.common.types import MAX_BIGINT, IdPath, QueryDatetime, reject_nul
from app.db import DbSession
from app.errors import NotFound, UnprocessableEntity
from app.events.cursor import EVENTS_CURSOR_HEADER
from app.idempotency.guard import IdempotencyGuard
from app.models import Channel, Priority, Role, TicketStatus, User
from app.tickets import filing, presenting, repository, service
from app.tickets.concurrency import etag
from app.tickets.schemas import (
    CUSTOMER_CREATE_FIELDS,
    AssignRequest,
    StatusChange,
    TicketCreate,
    TicketFilters,
    TicketOut,
    TicketUpdate,
)

router = APIRouter(tags=["tickets"])

IfMatch = Annotated[
    str | None,
    Header(max_length=200, description='The ETag you last read, e.g. "3"; stale is 412.'),
]
IdFilter = Annotated[int | None, Query(ge=1, le=MAX_BIGINT)]
OwnerFilter = Annotated[
    Annotated[int, Field(ge=1, le=MAX_BIGINT)] | Literal["none"] | None,
    Query(description="An owner's id, or `none`: the tickets nobody owns."),
]
TextFilter = Annotated[str | None, Query(min_length=1, max_length=200), AfterValidator(reject_nul)]


def _search_config(request: Request) -> str:
    config: str = request.app.state.settings.search_config
    return config


async def _read(session: DbSession, viewer: User, ticket_id: int) -> TicketOut:
    ticket = await repository.read_ticket(session, viewer, ticket_id)
    if ticket is None:
        raise NotFound(f"Ticket {ticket_id} does not exist.")
    return ticket


def _with_etag(ticket: TicketOut, response: Response) -> TicketOut:
    response.headers["ETag"] = etag(ticket.version)
    return ticket


@router.post(
    "/tickets",
    status_code=status.HTTP_201_CREATED,
    response_model=TicketOut,
    responses=problems(403, 409, 413),
    openapi_extra=json_or_multipart(
        documented(TicketCreate),
        "Files that come with the request (HELPDESK_ATTACHMENT_MAX_FILES at most, each under "
        "HELPDESK_ATTACHMENT_MAX_BYTES); listed at GET /tickets/{id}/attachments.",
    ),
)
async def create_ticket(
    request: Request,
    session: DbSession,
    author: CurrentUser,
    idempotency: IdempotencyGuard,
) -> JSONResponse:
    """File a ticket. Customers file for themselves; staff and integrations name the
    requester. JSON, or multipart/form-data with the JSON as `payload` and files as `files`."""
    settings = request.app.state.settings
    data, uploads, form = await read_body(
        request, TicketCreate, max_files=settings.attachment_max_files
    )
    if author.role is Role.CUSTOMER:
        extra = sorted(data.model_fields_set - CUSTOMER_CREATE_FIELDS)
        if extra:
            if form is not None:
                await form.close()
            raise UnprocessableEntity(f"Customers cannot set: {', '.join(extra)}.")
    try:
        files = await store_uploads(
            request.app.state.attachment_store, uploads, max_files=settings.attachment_max_files
        )
    finally:
        if form is not None:
            await form.close()
    filed = await filing.create_ticket(
        session, author, data, search_config=_search_config(request), files=files
    )
    ticket = filed.ticket
    return await idempotency.respond(
        presenting.present_filed(filed),
        status_code=status.HTTP_201_CREATED,
        headers={"Location": f"/api/v1/tickets/{ticket.id}", "ETag": etag(ticket.version)},
    )


@router.get("/tickets", responses=problems(400))
async def list_tickets(
    request: Request,
    session: DbSession,
    viewer: CurrentUser,
    status: Annotated[list[TicketStatus] | None, Query(max_length=5)] = None,
    owner_id: OwnerFilter = None,
    team_id: IdFilter = None,
    priority: Annotated[list[Priority] | None, Query(max_length=5)] = None,
    requester_id: IdFilter = None,
    category: TextFilter = None,
    tag: TextFilter = None,
    channel: Channel | None = None,
    q: TextFilter = None,
    updated_since: QueryDatetime | None = None,
    sort: Annotated[
        Literal["activity", "sla_due"],
        Query(
            description="`activity`: newest activity first. `sla_due`: the queue by service "
            "level: tickets past a due time first (most overdue first), then by the next due "
            "time; tickets whose clock stands still (pending, resolved, closed, no target) "
            "last, by id."
        ),
    ] = "activity",
    limit: Limit = 50,
    cursor: Cursor = None,
    *,
    response: Response,
) -> Page[TicketOut]:
    """Tickets the caller may see, newest activity first. `q` searches subject,
    description and messages (customers: only what they can read). `owner_id=none`:
    the tickets nobody owns."""
    filters = TicketFilters(
        status=status or [],
        owner_id=None if owner_id == "none" else owner_id,
        unowned=owner_id == "none",
        team_id=team_id,
        priority=priority or [],
        requester_id=requester_id,
        category=category,
        tag=tag.lower() if tag else None,
        channel=channel,
        q=q,
        updated_since=updated_since,
    )
    items, next_cursor, position = await repository.list_tickets(
        session,
        viewer,
        filters,
        limit=limit,
        cursor=cursor,
        search_config=_search_config(request),
        sort=sort,
    )
    response.headers[EVENTS_CURSOR_HEADER] = position
    return Page(items=items, next_cursor=next_cursor)


class _NotBulk(Convertor[str]):
    """A ticket id segment that is not `bulk`, so `PATCH /tickets/bulk` is a 405 (the
    path exists, the method does not) rather than a 422 about an impossible ticket id.
    Anything else still reaches the handler and is validated as an id there."""

    regex = "(?!bulk$)[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("not_bulk", _NotBulk())


@router.get("/tickets/{ticket_id:not_bulk}", responses=problems(404))
async def get_ticket(
    session: DbSession,
    viewer: CurrentUser,
    ticket_id: IdPath,
    response: Response,
    if_none_match: Annotated[str | None, Header(max_length=200)] = None,
) -> TicketOut:
    ticket, position = await repository.read_ticket_at(session, viewer, ticket_id)
    if ticket is None or position is None:
        raise NotFound(f"Ticket {ticket_id} does not exist.")
    response.headers[EVENTS_CURSOR_HEADER] = position
    if if_none_match is not None and etag(ticket.version) in if_none_match:
        raise _NotModified(etag(ticket.version))
    return _with_etag(ticket, response)


class _NotModified(Exception):
    def __init__(self, tag: str) -> None:
        self.tag = tag


async def not_modified(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, _NotModified)
    return Response(status_code=304, headers={"ETag": exc.tag})


@router.patch("/tickets/{ticket_id:not_bulk}", responses=problems(403, 404, 409, 412))
async def update_ticket(
    request: Request,
    session: DbSession,
    editor: StaffUser,
    ticket_id: IdPath,
    data: TicketUpdate,
    response: Response,
    if_match: IfMatch = None,
) -> TicketOut:
    """Change subject, urgency, impact (priority follows), category, tags or team."""
    await service.update_ticket(
        session, editor, ticket_id, data, if_match=if_match, search_config=_search_config(request)
    )
    return _with_etag(await _read(session, editor, ticket_id), response)


@router.post("/tickets/{ticket_id}/assign", responses=problems(403, 404, 409, 412))
async def assign_ticket(
    session: DbSession,
    assigner: StaffUser,
    ticket_id: IdPath,
    data: AssignRequest,
    response: Response,
    if_match: IfMatch = None,
) -> TicketOut:
    """Give the ticket a new owner (or none), with the reason the customer will be told."""
    await service.assign(session, assigner, ticket_id, data, if_match=if_match)
    return _with_etag(await _read(session, assigner, ticket_id), response)


@router.post("/tickets/{ticket_id}/status", responses=problems(403, 404, 409, 412))
async def change_ticket_status(
    session: DbSession,
    actor: CurrentUser,
    ticket_id: IdPath,
    data: StatusChange,
    response: Response,
    if_match: IfMatch = None,
) -> TicketOut:
    """Move the ticket through its lifecycle; customers may only resolve or reopen their own."""
    await service.change_status(session, actor, ticket_id, data, if_match=if_match)
    return _with_etag(await _read(session, actor, ticket_id), response)
