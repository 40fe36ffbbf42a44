"""HTTP for notifications: a ticket's deliveries, retries, preferences and followers."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from app.auth.dependencies import CurrentUser, ManagerUser, StaffUser
from app.common.openapi import problems
from app.common.pagination import Cursor, Limit, Page, decode_id_cursor, next_id_cursor
from app.common.types import IdPath
from app.db import DbSession
from app.notifications import service
from app.notifications.schemas import DeliveryOut, FollowerIn, PreferencesIn, PreferencesOut
from app.people.schemas import UserOut
from app.people.service import team_ids_of

router = APIRouter(tags=["notifications"])


@router.get("/tickets/{ticket_id}/notifications", responses=problems(400, 403, 404))
async def list_ticket_notifications(
    session: DbSession,
    viewer: StaffUser,
    ticket_id: IdPath,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[DeliveryOut]:
    """Every delivery for the ticket: who, which channel, status, attempts, last error.
    Webhook deliveries are listed to admins only."""
    rows = await service.deliveries_of_ticket(
        session, viewer, ticket_id, after_id=decode_id_cursor(cursor), limit=limit
    )
    return Page(
        items=[DeliveryOut.model_validate(row) for row in rows],
        next_cursor=next_id_cursor([row.id for row in rows], limit),
    )


@router.post("/notifications/{delivery_id}/retry", responses=problems(403, 404, 409))
async def retry_notification(
    session: DbSession, manager: ManagerUser, delivery_id: IdPath
) -> DeliveryOut:
    """Send a dead delivery again (a webhook delivery: admins only)."""
    return DeliveryOut.model_validate(await service.retry_delivery(session, manager, delivery_id))


@router.get("/users/{user_id}/notification-preferences", responses=problems(403, 404))
async def get_notification_preferences(
    session: DbSession, caller: CurrentUser, user_id: IdPath
) -> PreferencesOut:
    return PreferencesOut(preferences=await service.get_preferences(session, caller, user_id))


@router.put("/users/{user_id}/notification-preferences", responses=problems(403, 404))
async def set_notification_preferences(
    session: DbSession, caller: CurrentUser, user_id: IdPath, data: PreferencesIn
) -> PreferencesOut:
    chosen = await service.set_preferences(session, caller, user_id, data.preferences)
    return PreferencesOut(preferences=chosen)


@router.get("/tickets/{ticket_id}/followers", responses=problems(403, 404))
async def list_followers(session: DbSession, viewer: StaffUser, ticket_id: IdPath) -> list[UserOut]:
    users = await service.followers_of(session, viewer, ticket_id)
    teams = await team_ids_of(session, [u.id for u in users])
    return [
        UserOut.model_validate(
            {
                **{c.key: getattr(u, c.key) for c in u.__mapper__.column_attrs},
                "team_ids": teams.get(u.id, []),
            }
        )
        for u in users
    ]


@router.post(
    "/tickets/{ticket_id}/followers",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problems(403, 404),
)
async def follow_ticket(
    session: DbSession, viewer: StaffUser, ticket_id: IdPath, data: FollowerIn
) -> None:
    """Follow a ticket (yourself or a colleague): hear about it without owning it."""
    await service.follow(session, viewer, ticket_id, data.user_id)


@router.delete(
    "/tickets/{ticket_id}/followers/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problems(403, 404),
)
async def unfollow_ticket(
    session: DbSession, viewer: StaffUser, ticket_id: IdPath, user_id: IdPath
) -> None:
    await service.unfollow(session, viewer, ticket_id, user_id)
