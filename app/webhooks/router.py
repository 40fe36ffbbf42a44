"""HTTP for webhooks (admins only): endpoints, secrets, deliveries and redelivery.

Secrets: shown when an endpoint is created or its secret rotated, and on demand at
`GET /webhooks/{id}/secret` (the Standard Webhooks practice: the secret is a shared key
the receiver needs, readable by admins), never in lists or ordinary reads.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.responses import JSONResponse

from app.auth.dependencies import AdminUser
from app.common.openapi import problems
from app.common.pagination import Cursor, Limit, Page, decode_id_cursor, next_id_cursor
from app.common.types import IdPath
from app.db import DbSession
from app.idempotency.guard import IdempotencyGuard
from app.models import DeliveryStatus, WebhookEndpoint
from app.notifications.channels.targets import TargetPolicy
from app.webhooks import service
from app.webhooks.schemas import (
    WebhookCreate,
    WebhookDeliveryOut,
    WebhookOut,
    WebhookSecret,
    WebhookUpdate,
    WebhookWithSecret,
)

router = APIRouter(tags=["webhooks"])


def target_policy(request: Request) -> TargetPolicy:
    return TargetPolicy.from_settings(request.app.state.settings)


Policy = Annotated[TargetPolicy, Depends(target_policy)]


def _out(endpoint: WebhookEndpoint) -> WebhookOut:
    return WebhookOut.model_validate(endpoint)


@router.post(
    "/webhooks",
    status_code=status.HTTP_201_CREATED,
    response_model=WebhookWithSecret,
    responses=problems(403, 409),
)
async def create_webhook(
    session: DbSession,
    admin: AdminUser,
    idempotency: IdempotencyGuard,
    policy: Policy,
    data: WebhookCreate,
) -> JSONResponse:
    """Subscribe a URL to timeline events. The response carries the signing secret.

    Internal events (internal notes, field and priority changes) are sent only to an
    endpoint created or updated with `include_internal: true`."""
    endpoint = await service.create_webhook(session, admin, data, policy)
    return await idempotency.respond(
        WebhookWithSecret.model_validate(endpoint),
        status_code=status.HTTP_201_CREATED,
        headers={"Location": f"/api/v1/webhooks/{endpoint.id}"},
    )


@router.get("/webhooks", responses=problems(400, 403))
async def list_webhooks(
    session: DbSession,
    _admin: AdminUser,
    active: bool | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[WebhookOut]:
    endpoints = await service.list_webhooks(
        session, active=active, after_id=decode_id_cursor(cursor), limit=limit
    )
    return Page(
        items=[_out(e) for e in endpoints],
        next_cursor=next_id_cursor([e.id for e in endpoints], limit),
    )


@router.get("/webhooks/{webhook_id}", responses=problems(403, 404))
async def get_webhook(session: DbSession, _admin: AdminUser, webhook_id: IdPath) -> WebhookOut:
    return _out(await service.get_webhook(session, webhook_id))


@router.patch("/webhooks/{webhook_id}", responses=problems(403, 404))
async def update_webhook(
    session: DbSession, _admin: AdminUser, policy: Policy, webhook_id: IdPath, data: WebhookUpdate
) -> WebhookOut:
    return _out(await service.update_webhook(session, webhook_id, data, policy))


@router.delete(
    "/webhooks/{webhook_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problems(403, 404),
)
async def delete_webhook(session: DbSession, _admin: AdminUser, webhook_id: IdPath) -> None:
    """Delete an endpoint; deliveries not yet sent are cancelled."""
    await service.delete_webhook(session, webhook_id)


@router.get("/webhooks/{webhook_id}/secret", responses=problems(403, 404))
async def get_webhook_secret(
    session: DbSession, _admin: AdminUser, webhook_id: IdPath
) -> WebhookSecret:
    endpoint = await service.get_webhook(session, webhook_id)
    return WebhookSecret(secret=endpoint.secret)


@router.post("/webhooks/{webhook_id}/rotate-secret", responses=problems(403, 404))
async def rotate_webhook_secret(
    session: DbSession, _admin: AdminUser, webhook_id: IdPath
) -> WebhookWithSecret:
    """Replace the signing secret; every attempt from now on is signed with the new one."""
    return WebhookWithSecret.model_validate(await service.rotate_secret(session, webhook_id))


@router.get("/webhooks/{webhook_id}/deliveries", responses=problems(400, 403, 404))
async def list_webhook_deliveries(
    session: DbSession,
    _admin: AdminUser,
    webhook_id: IdPath,
    status: DeliveryStatus | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[WebhookDeliveryOut]:
    """The endpoint's deliveries, newest first: status, attempts, response code, latency."""
    rows = await service.deliveries_of(
        session, webhook_id, status=status, before_id=decode_id_cursor(cursor), limit=limit
    )
    return Page(
        items=[WebhookDeliveryOut.of(row) for row in rows],
        next_cursor=next_id_cursor([row.id for row in rows], limit),
    )


@router.post(
    "/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
    responses=problems(403, 404, 409),
)
async def redeliver_webhook_delivery(
    session: DbSession, _admin: AdminUser, webhook_id: IdPath, delivery_id: IdPath
) -> WebhookDeliveryOut:
    """Send a delivered or dead delivery again, with the same webhook-id and a fresh set of
    attempts. One still pending or being sent is 409."""
    return WebhookDeliveryOut.of(await service.redeliver(session, webhook_id, delivery_id))
