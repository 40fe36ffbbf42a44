"""Telling every process that credentials changed, so live connections can be closed.

pg_notify inside the request transaction: delivered at commit, never for a rollback.
"""

from __future__ import annotations

import json

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

AUTH_CHANNEL = "helpdesk_auth"


async def announce_token_revoked(session: AsyncSession, token_id: int) -> None:
    await session.execute(select(func.pg_notify(AUTH_CHANNEL, json.dumps({"token_id": token_id}))))


async def announce_access_changed(session: AsyncSession, user_id: int) -> None:
    """The user was deactivated or changed role: their live connections must reconnect."""
    await session.execute(select(func.pg_notify(AUTH_CHANNEL, json.dumps({"user_id": user_id}))))
