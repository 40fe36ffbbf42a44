"""How often anyone may ask for a sign-in link: per address and per client, counted in
PostgreSQL so that every process and host counts against one limit.

Fixed windows of an hour: one row per key and hour, incremented by one UPSERT for all
of a request's keys. A refused request rolls back with its transaction, so it is not
counted: a client that keeps asking stays refused until the window ends, no longer.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import DateTime, bindparam, delete, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import String

from app.errors import TooManyRequests
from app.models import SignInThrottle

WINDOW = timedelta(hours=1)

_HIT = text(
    """
    INSERT INTO sign_in_throttle AS t (key, window_start, hits)
    SELECT key, :window_start, 1 FROM unnest(:keys) AS key
    ON CONFLICT (key, window_start) DO UPDATE SET hits = t.hits + 1
    RETURNING key, hits
    """
).bindparams(
    bindparam("keys", type_=ARRAY(String)),
    bindparam("window_start", type_=DateTime(timezone=True)),
)


def window_of(now: datetime) -> datetime:
    return now.replace(minute=0, second=0, microsecond=0)


async def count(session: AsyncSession, limits: dict[str, int], now: datetime) -> None:
    """Count one request against each key; 429 (with Retry-After: the window's end) when
    any key is over its limit."""
    start = window_of(now)
    rows = await session.execute(_HIT, {"keys": list(limits), "window_start": start})
    if any(hits > limits[key] for key, hits in rows.all()):
        raise TooManyRequests(max(1, math.ceil((start + WINDOW - now).total_seconds())))


async def forget_old_windows(session: AsyncSession, now: datetime) -> None:
    await session.execute(
        delete(SignInThrottle).where(SignInThrottle.window_start < window_of(now) - WINDOW)
    )
