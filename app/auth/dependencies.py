"""Who is calling: bearer-token authentication and typed role guards.

401 means "we do not know who you are" (missing, unknown, revoked or expired token,
deactivated user); 403 means "we know, and you may not".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select, update

from app.auth.cache import TOKEN_TOUCH, TokenCache
from app.auth.rate_limit import SharedRateLimiter
from app.auth.tokens import hash_token
from app.db import DbSession
from app.errors import Forbidden, TooManyRequests, Unauthorized
from app.models import ApiToken, Role, User

_bearer = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer hd_...`")


async def current_user(
    request: Request,
    session: DbSession,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    if credentials is None or not credentials.credentials:
        raise Unauthorized()
    token_hash = hash_token(credentials.credentials)
    cache: TokenCache = request.app.state.token_cache
    now = datetime.now(UTC)
    cached = cache.get(token_hash)
    if cached is None:
        generation = cache.generation
        row = (
            await session.execute(
                select(ApiToken, User)
                .join(User, User.id == ApiToken.user_id)
                .where(ApiToken.token_hash == token_hash)
            )
        ).one_or_none()
        if row is None:
            raise Unauthorized("The token is not valid.")
        token, user = row
        if not user.active:
            raise Unauthorized("The user of this token has been deactivated.")
        if token.revoked_at is not None:
            raise Unauthorized("The token has been revoked.")
        cache.put(token_hash, token, user, generation)
        token_id, expires_at, last_used_at = token.id, token.expires_at, token.last_used_at
        scopes = frozenset(token.scopes)
    else:
        # Only valid tokens of active users are cached, and a change forgets them.
        user = await session.merge(cached.user, load=False)
        token_id, expires_at, last_used_at = cached.token_id, cached.expires_at, cached.last_used_at
        scopes = cached.scopes
    if expires_at is not None and expires_at <= now:
        raise Unauthorized("The token has expired.")

    limiter: SharedRateLimiter = request.app.state.rate_limiter
    decision = await limiter.acquire(user.id)
    # Read by the middleware (app/middleware.py), which adds the RateLimit-* headers to
    # whatever response this request gets, errors included.
    request.state.rate_limit = decision.quota
    if decision.retry_after is not None:
        raise TooManyRequests(decision.retry_after)

    touch_interval = timedelta(seconds=request.app.state.settings.token_touch_interval_seconds)
    if last_used_at is None or now - last_used_at >= touch_interval:
        # Written at most once per interval: a write on every read would cost more than
        # the precision is worth.
        # SKIP LOCKED: if a concurrent request on this token is already writing it, this
        # one skips the write instead of queueing behind that request's transaction.
        unlocked = (
            select(ApiToken.id).where(ApiToken.id == token_id).with_for_update(skip_locked=True)
        )
        await session.execute(
            update(ApiToken)
            .where(ApiToken.id.in_(unlocked.scalar_subquery()))
            .values(last_used_at=now),
            execution_options={TOKEN_TOUCH: True},
        )
        if cached is not None:
            # This process has written it: its next requests need not try again.
            cached.last_used_at = now
    request.state.user_id = user.id
    # What this very token may do beyond the role (app/auth/scopes.py): another token of
    # the same user may hold other scopes, so it is the request's, not the user's.
    request.state.token_scopes = scopes
    return user


def token_scopes(request: Request) -> frozenset[str]:
    """The scopes of the token that authenticated the request (none before it was)."""
    scopes: frozenset[str] = getattr(request.state, "token_scopes", frozenset())
    return scopes


CurrentUser = Annotated[User, Depends(current_user)]


def require_roles(*roles: Role) -> Callable[[User], Awaitable[User]]:
    allowed = frozenset(roles)
    names = ", ".join(sorted(role.value for role in allowed))

    async def guard(user: CurrentUser) -> User:
        if user.role not in allowed:
            raise Forbidden(f"This needs one of the roles: {names}.")
        return user

    return guard


AdminUser = Annotated[User, Depends(require_roles(Role.ADMIN))]
ManagerUser = Annotated[User, Depends(require_roles(Role.ADMIN, Role.SUPERVISOR))]
StaffUser = Annotated[User, Depends(require_roles(Role.ADMIN, Role.SUPERVISOR, Role.AGENT))]
