"""X-Events-Cursor: where a REST read stands in the event stream (list-then-watch)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.live.cursor import cursor_now

_XMIN = text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")


async def events_cursor(session: AsyncSession) -> str:
    """Taken before the read it accompanies: every transaction below this xmin had
    finished by then, so the read reflects it, and a subscription with this cursor
    as `since` replays everything the read may have missed."""
    xmin = await session.scalar(_XMIN)
    assert xmin is not None
    return cursor_now(int(xmin)).encode()
