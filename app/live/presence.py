"""Staff on the live channel, written down where every process can read it: a row per
staff connection in `live_presence`, inserted as it connects, refreshed (one UPDATE for
all of this process's connections, by the process's chore) while it lives, deleted
when it ends. A process that dies without cleaning up leaves rows that go stale
(`PRESENCE_FRESH_SECONDS`), so readers never count a ghost for long. No task per
connection: an idle connection costs nothing but its handler."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

from sqlalchemy import bindparam, delete, func, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.types import String

from app.models import PRESENCE_FRESH_SECONDS, LivePresence

REFRESH_SECONDS = PRESENCE_FRESH_SECONDS / 3

_REFRESH = (
    update(LivePresence)
    .where(LivePresence.connection_id == func.any(bindparam("ids", type_=ARRAY(String(64)))))
    .values(last_seen_at=bindparam("now"))
)


class PresenceBook:
    """This process's staff connections, as rows in `live_presence`."""

    def __init__(self, maker: async_sessionmaker[AsyncSession]) -> None:
        self.maker = maker
        self.connections: dict[str, int] = {}

    async def arrive(self, connection_id: str, user_id: int) -> None:
        self.connections[connection_id] = user_id
        statement = pg_insert(LivePresence).values(
            connection_id=connection_id, user_id=user_id, last_seen_at=datetime.now(UTC)
        )
        async with self.maker() as session, session.begin():
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=["connection_id"],
                    set_={"last_seen_at": statement.excluded.last_seen_at},
                )
            )

    async def leave(self, connection_id: str) -> None:
        if self.connections.pop(connection_id, None) is None:
            return
        with contextlib.suppress(Exception):  # stale soon anyway
            async with self.maker() as session, session.begin():
                await session.execute(
                    delete(LivePresence).where(LivePresence.connection_id == connection_id)
                )

    async def refresh(self) -> None:
        if not self.connections:
            return
        async with self.maker() as session, session.begin():
            await session.execute(
                _REFRESH, {"ids": list(self.connections), "now": datetime.now(UTC)}
            )
