"""The continuity scheduler: hands tickets over when absences start and back when they end.

Every service process runs one; one at a time works. Each holds a dedicated connection
and tries `pg_try_advisory_lock` on it: whoever gets the lock is the scheduler for as
long as that connection lives, and the others keep trying. When the holder dies, its
connection closes, PostgreSQL releases the lock, and a standby takes over.

The scheduler runs every interval, and at once when woken: an absence that has already
started or has just ended, or a deactivation, notifies it (at commit) on its connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.notices import AUTH_CHANNEL
from app.continuity.handover import Outcome, hand_back_all, hand_over, owners_to_relieve
from app.continuity.service import WAKE_CHANNEL
from app.db import asyncpg_connect_args

logger = logging.getLogger(__name__)

# Any fixed number, the same in every process: the key of the scheduler's lock.
SCHEDULER_LOCK = 7_215_334_918_002
APPLICATION_NAME = "helpdesk-continuity"
STANDBY_RETRY_MAX_SECONDS = 10.0


class ContinuityScheduler:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        database_url: str,
        *,
        interval: float,
        batch_size: int,
        workers: int = 1,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.interval = interval
        self.batch_size = batch_size
        self.workers = workers
        self.standby_retry = min(interval, STANDBY_RETRY_MAX_SECONDS)
        self._connect_args = asyncpg_connect_args(database_url)
        self._wake = asyncio.Event()
        self._connection: asyncpg.Connection | None = None
        self.leading = asyncio.Event()
        self.runs = 0

    @property
    def is_leader(self) -> bool:
        return self.leading.is_set()

    @property
    def backend_pid(self) -> int | None:
        """The PostgreSQL backend of the lock connection (None while disconnected)."""
        connection = self._connection
        if connection is None or connection.is_closed():
            return None
        pid: int = connection.get_server_pid()
        return pid

    async def run(self) -> None:
        """Until cancelled: stand by, lead while holding the lock, recover from failures."""
        while True:
            try:
                await self._stand_by_then_lead()
            except asyncio.CancelledError:
                raise
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                logger.warning("continuity scheduler lost the database (%s); retrying", exc)
            except Exception:
                logger.exception("continuity scheduler failed; restarting it")
            finally:
                await self._release()
            await asyncio.sleep(self.standby_retry)

    async def _stand_by_then_lead(self) -> None:
        connection = await asyncpg.connect(
            **self._connect_args,
            timeout=10,
            server_settings={"application_name": APPLICATION_NAME},
        )
        self._connection = connection
        while True:
            if await connection.fetchval("SELECT pg_try_advisory_lock($1)", SCHEDULER_LOCK):
                break
            await asyncio.sleep(self.standby_retry)  # standing by: someone else leads
        await connection.add_listener(WAKE_CHANNEL, self._on_wake)
        await connection.add_listener(AUTH_CHANNEL, self._on_wake)
        connection.add_termination_listener(lambda _connection: self._wake.set())
        self.leading.set()
        logger.info("this process now runs the continuity scheduler")
        while True:
            self._wake.clear()
            await self.run_once()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)
            # Still ours? A closed connection means the lock went with it.
            await connection.fetchval("SELECT 1")

    async def run_once(self) -> Outcome:
        """One pass: hand over from everyone unavailable, hand back after absences."""
        async with self.sessionmaker() as session:
            owners = await owners_to_relieve(session, datetime.now(UTC))
        outcome = Outcome()
        for owner_id in owners:
            outcome += await hand_over(
                self.sessionmaker, owner_id, batch_size=self.batch_size, workers=self.workers
            )
        outcome += await hand_back_all(self.sessionmaker, batch_size=self.batch_size)
        self.runs += 1
        if outcome != Outcome():
            logger.info(
                "continuity: %d handed over (%d to a queue), %d handed back",
                outcome.moved,
                outcome.queued,
                outcome.handed_back,
            )
        return outcome

    def wake(self) -> None:
        self._wake.set()

    def _on_wake(self, *_args: object) -> None:
        self._wake.set()

    async def _release(self) -> None:
        self.leading.clear()
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            # Closing ends the session, and with it the lock.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), timeout=2)
