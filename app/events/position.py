"""X-Events-Cursor: where a REST read stands in the event stream (list-then-watch)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Text, cast, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.events.cursor import cursor_now

_XMIN = text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")

# The same, as a column of the read itself: pg_current_snapshot() is the statement's
# own snapshot, so every transaction below its xmin is reflected in the rows returned,
# and the read costs no extra round trip. A scalar subquery, so it is computed once.
SNAPSHOT_XMIN = (
    select(cast(cast(func.pg_snapshot_xmin(func.pg_current_snapshot()), Text), BigInteger))
    .scalar_subquery()
    .label("snapshot_xmin")
)


def position_at(xmin: int) -> str:
    return cursor_now(int(xmin)).encode()


async def events_cursor(session: AsyncSession) -> str:
    """Taken before the read it accompanies: every transaction below this xmin had
    finished by then, so the read reflects it, and a subscription with this cursor
    as `since` replays everything the read may have missed."""
    xmin = await session.scalar(_XMIN)
    assert xmin is not None
    return position_at(int(xmin))
