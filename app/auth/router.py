"""HTTP for API tokens: issue (shown once), list, revoke."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from app.auth import service
from app.auth.dependencies import CurrentUser
from app.auth.schemas import TokenCreate, TokenCreated, TokenOut
from app.common.openapi import problems
from app.common.types import IdPath
from app.db import DbSession

router = APIRouter(tags=["tokens"])


@router.post(
    "/users/{user_id}/tokens",
    status_code=status.HTTP_201_CREATED,
    responses=problems(403, 404, 409, 422),
)
async def create_token(
    request: Request, session: DbSession, caller: CurrentUser, user_id: IdPath, data: TokenCreate
) -> TokenCreated:
    """Issue a token. A user holds at most HELPDESK_MAX_TOKENS_PER_USER active tokens
    (unrevoked and unexpired; 20 by default): one more is 409 until one is revoked.
    `scopes` are granted by an admin only (403 otherwise) and only on an integration's
    token (422 for anyone else: staff and customers read what their role allows)."""
    max_active: int = request.app.state.settings.max_tokens_per_user
    token, secret = await service.issue_token(session, caller, user_id, data, max_active=max_active)
    return TokenCreated(
        id=token.id,
        name=token.name,
        token=secret,
        created_at=token.created_at,
        expires_at=token.expires_at,
        scopes=list(token.scopes),
    )


@router.get("/users/{user_id}/tokens", responses=problems(403, 404))
async def list_tokens(session: DbSession, caller: CurrentUser, user_id: IdPath) -> list[TokenOut]:
    tokens = await service.list_tokens(session, caller, user_id)
    return [TokenOut.model_validate(token) for token in tokens]


@router.delete(
    "/tokens/{token_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problems(404),
)
async def revoke_token(session: DbSession, caller: CurrentUser, token_id: IdPath) -> None:
    await service.revoke_token(session, caller, token_id)
