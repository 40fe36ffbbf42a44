"""HTTP for identities: a person's email addresses, phone numbers and handles."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from app.auth.dependencies import AdminUser, StaffUser
from app.common.openapi import problems
from app.common.types import IdPath
from app.db import DbSession
from app.errors import UnprocessableEntity
from app.identities import service
from app.identities.normalise import IdentityRef, InvalidIdentity
from app.identities.schemas import IdentityIn, IdentityOut
from app.models import Identity

router = APIRouter(tags=["identities"])


def _out(identity: Identity) -> IdentityOut:
    out = IdentityOut.model_validate(identity)
    return out.model_copy(update={"source": identity.source or None})


@router.get("/users/{user_id}/identities", responses=problems(403, 404))
async def list_identities(
    session: DbSession, _viewer: StaffUser, user_id: IdPath
) -> list[IdentityOut]:
    """Everything the person is known by on each channel; their own address included."""
    return [_out(i) for i in await service.list_identities(session, user_id)]


@router.post(
    "/users/{user_id}/identities",
    status_code=status.HTTP_201_CREATED,
    responses=problems(403, 404, 409),
)
async def add_identity(
    session: DbSession, _admin: AdminUser, user_id: IdPath, data: IdentityIn
) -> IdentityOut:
    """Give the person another address, number or handle. One that is someone else's is 409."""
    try:
        identity = IdentityRef.of(data.kind, data.value, data.source)
    except InvalidIdentity as exc:
        raise UnprocessableEntity(str(exc), loc=("body", "value")) from None
    return _out(await service.add_identity(session, user_id, identity))


@router.delete(
    "/users/{user_id}/identities/{identity_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problems(403, 404, 409),
)
async def remove_identity(
    session: DbSession, _admin: AdminUser, user_id: IdPath, identity_id: IdPath
) -> None:
    """Forget one; the person's own address stays (change it on the user first)."""
    await service.remove_identity(session, user_id, identity_id)
