"""HTTP for service levels: business calendars and SLA policies (admin; staff may read).

Each is versioned: reads carry an `ETag`, and a replace or delete with a stale
`If-Match` is 412 and changes nothing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response, status
from fastapi.responses import JSONResponse

from app.auth.dependencies import AdminUser, StaffUser
from app.common.openapi import problems
from app.common.pagination import Cursor, Limit, Page, decode_id_cursor, next_id_cursor
from app.common.types import IdPath
from app.db import DbSession
from app.idempotency.guard import IdempotencyGuard
from app.sla import admin
from app.sla.calendar_schemas import CalendarIn, CalendarOut
from app.sla.policy_schemas import SlaPolicyIn, SlaPolicyOut

router = APIRouter(tags=["service levels"])

IfMatch = Annotated[
    str | None,
    Header(max_length=200, description='The ETag you last read, e.g. "3"; stale is 412.'),
]


# -- calendars ------------------------------------------------------------------------


@router.get("/calendars", responses=problems(400, 403))
async def list_calendars(
    session: DbSession, _staff: StaffUser, limit: Limit = 50, cursor: Cursor = None
) -> Page[CalendarOut]:
    """Business calendars: when each desk is open, in its own time zone."""
    rows = await admin.list_calendars(session, decode_id_cursor(cursor), limit)
    return Page(
        items=[admin.calendar_out(row) for row in rows],
        next_cursor=next_id_cursor([row.id for row in rows], limit),
    )


@router.post(
    "/calendars",
    status_code=status.HTTP_201_CREATED,
    response_model=CalendarOut,
    responses=problems(403, 409),
)
async def create_calendar(
    session: DbSession, _admin: AdminUser, data: CalendarIn, idempotency: IdempotencyGuard
) -> JSONResponse:
    row = await admin.create_calendar(session, data)
    return await idempotency.respond(
        admin.calendar_out(row),
        status_code=status.HTTP_201_CREATED,
        headers={"Location": f"/api/v1/calendars/{row.id}", "ETag": admin.etag(row.version)},
    )


@router.get("/calendars/{calendar_id}", responses=problems(403, 404))
async def get_calendar(
    session: DbSession, _staff: StaffUser, calendar_id: IdPath, response: Response
) -> CalendarOut:
    row = await admin.get_calendar(session, calendar_id)
    response.headers["ETag"] = admin.etag(row.version)
    return admin.calendar_out(row)


@router.put("/calendars/{calendar_id}", responses=problems(403, 404, 409, 412))
async def replace_calendar(
    session: DbSession,
    _admin: AdminUser,
    calendar_id: IdPath,
    data: CalendarIn,
    response: Response,
    if_match: IfMatch = None,
) -> CalendarOut:
    """Replace a calendar. Due times already set stay; new ones use the new hours."""
    row = await admin.replace_calendar(session, calendar_id, data, if_match)
    response.headers["ETag"] = admin.etag(row.version)
    return admin.calendar_out(row)


@router.delete(
    "/calendars/{calendar_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(403, 404, 409, 412),
)
async def delete_calendar(
    session: DbSession, _admin: AdminUser, calendar_id: IdPath, if_match: IfMatch = None
) -> Response:
    """Delete a calendar no policy uses (409 otherwise)."""
    await admin.delete_calendar(session, calendar_id, if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- policies -------------------------------------------------------------------------


@router.get("/sla-policies", responses=problems(400, 403))
async def list_policies(
    session: DbSession, _staff: StaffUser, limit: Limit = 50, cursor: Cursor = None
) -> Page[SlaPolicyOut]:
    """SLA policies by id; which applies is decided by `position`, then age."""
    rows = await admin.list_policies(session, decode_id_cursor(cursor), limit)
    return Page(
        items=[admin.policy_out(row) for row in rows],
        next_cursor=next_id_cursor([row.id for row in rows], limit),
    )


@router.post(
    "/sla-policies",
    status_code=status.HTTP_201_CREATED,
    response_model=SlaPolicyOut,
    responses=problems(403, 409),
)
async def create_policy(
    session: DbSession, _admin: AdminUser, data: SlaPolicyIn, idempotency: IdempotencyGuard
) -> JSONResponse:
    """A policy applies to tickets filed, or retargeted, from now on."""
    row = await admin.create_policy(session, data)
    return await idempotency.respond(
        admin.policy_out(row),
        status_code=status.HTTP_201_CREATED,
        headers={"Location": f"/api/v1/sla-policies/{row.id}", "ETag": admin.etag(row.version)},
    )


@router.get("/sla-policies/{policy_id}", responses=problems(403, 404))
async def get_policy(
    session: DbSession, _staff: StaffUser, policy_id: IdPath, response: Response
) -> SlaPolicyOut:
    row = await admin.get_policy(session, policy_id)
    response.headers["ETag"] = admin.etag(row.version)
    return admin.policy_out(row)


@router.put("/sla-policies/{policy_id}", responses=problems(403, 404, 409, 412))
async def replace_policy(
    session: DbSession,
    _admin: AdminUser,
    policy_id: IdPath,
    data: SlaPolicyIn,
    response: Response,
    if_match: IfMatch = None,
) -> SlaPolicyOut:
    row = await admin.replace_policy(session, policy_id, data, if_match)
    response.headers["ETag"] = admin.etag(row.version)
    return admin.policy_out(row)


@router.delete(
    "/sla-policies/{policy_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(403, 404, 409, 412),
)
async def delete_policy(
    session: DbSession, _admin: AdminUser, policy_id: IdPath, if_match: IfMatch = None
) -> Response:
    """Delete a policy (not the default). Its tickets keep their due times."""
    await admin.delete_policy(session, policy_id, if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
