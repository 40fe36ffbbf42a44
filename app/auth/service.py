"""Token use cases: issue, list, revoke."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.notices import announce_token_revoked
from app.auth.schemas import TokenCreate
from app.auth.scopes import TokenScope
from app.auth.tokens import hash_token, mint_token
from app.errors import Conflict, Forbidden, NotFound, UnprocessableEntity
from app.models import ApiToken, Role, User


def _may_manage_tokens_of(actor: User, user_id: int) -> bool:
    return actor.role is Role.ADMIN or actor.id == user_id


async def issue_token(
    session: AsyncSession, actor: User, user_id: int, data: TokenCreate, *, max_active: int
) -> tuple[ApiToken, str]:
    """Create a token and return it with its secret, which is never stored."""
    if not _may_manage_tokens_of(actor, user_id):
        raise Forbidden("Only an admin may issue tokens for someone else.")
    if data.scopes and actor.role is not Role.ADMIN:
        raise Forbidden("Only an admin may grant token scopes.")
    # Locked: two requests minting at once must not both pass the count below.
    owner = await session.get(User, user_id, with_for_update=True)
    if owner is None:
        raise NotFound(f"User {user_id} does not exist.")
    if not owner.active:
        raise UnprocessableEntity(f"User {user_id} is deactivated; activate them first.")
    if data.scopes:
        _check_grant(owner, data.scopes)
    if data.expires_at is not None and data.expires_at <= datetime.now(UTC):
        raise UnprocessableEntity("expires_at must be in the future.")
    active = await count_active_tokens(session, user_id)
    if active >= max_active:
        raise Conflict(
            f"User {user_id} already has {active} active tokens, the most allowed; "
            "revoke one first (DELETE /api/v1/tokens/{id}).",
            extra={"active_tokens": active, "max_active_tokens": max_active},
        )
    secret = mint_token()
    token = ApiToken(
        user_id=user_id,
        name=data.name,
        token_hash=hash_token(secret),
        expires_at=data.expires_at,
        scopes=[scope.value for scope in data.scopes],
    )
    session.add(token)
    await session.flush()
    await session.refresh(token)
    return token, secret


def _check_grant(owner: User, scopes: Sequence[TokenScope]) -> None:
    """Scopes widen what an integration reads; staff and customers read what their role
    allows, so a scope on their token would mean nothing (or too much)."""
    if owner.role is not Role.INTEGRATION:
        names = ", ".join(scope.value for scope in scopes)
        raise UnprocessableEntity(
            f"Scopes ({names}) are granted only on an integration's token; user {owner.id} "
            f"is {'an' if owner.role.value[0] in 'aeiou' else 'a'} {owner.role.value}.",
            loc=("body", "scopes"),
        )


async def count_active_tokens(session: AsyncSession, user_id: int) -> int:
    """Tokens that still work: not revoked, not expired."""
    query = select(func.count()).where(
        ApiToken.user_id == user_id,
        ApiToken.revoked_at.is_(None),
        or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > func.now()),
    )
    return int(await session.scalar(query) or 0)


async def issue_bootstrap_token(session: AsyncSession, user: User, name: str) -> str:
    secret = mint_token()
    session.add(ApiToken(user_id=user.id, name=name, token_hash=hash_token(secret)))
    await session.flush()
    return secret


async def list_tokens(session: AsyncSession, actor: User, user_id: int) -> Sequence[ApiToken]:
    if not _may_manage_tokens_of(actor, user_id):
        raise Forbidden("Only an admin may see someone else's tokens.")
    if await session.get(User, user_id) is None:
        raise NotFound(f"User {user_id} does not exist.")
    query = select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id)
    return (await session.scalars(query)).all()


async def revoke_token(session: AsyncSession, actor: User, token_id: int) -> None:
    """Revoke a token. Revoking twice is harmless; someone else's token is 404."""
    token = await session.get(ApiToken, token_id, with_for_update=True)
    if token is None or not _may_manage_tokens_of(actor, token.user_id):
        raise NotFound(f"Token {token_id} does not exist.")
    if token.revoked_at is None:
        token.revoked_at = datetime.now(UTC)
        await session.flush()
        await announce_token_revoked(session, token.id)
