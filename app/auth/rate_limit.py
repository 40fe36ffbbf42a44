"""Rate limits: one per user across every process and host, and a per-process one for
anonymous callers.

**Per user (`SharedRateLimiter`).** A user's requests, whatever token they use and
whichever process serves them, draw from one token bucket kept in PostgreSQL (the
`rate_limit_buckets` row of the user, GCRA: one timestamp per user). Asking the
database on every request would add a round trip and a hot-row write to the cheapest
read, so each process *leases* quota: when its local allowance for a user runs out it
takes up to `lease_size` requests from the shared bucket in one autocommit UPSERT and
spends them locally. The trade-off, in the safe direction:

- no user ever gets more than the limit, whatever the number of processes: every
  request spent was granted by the shared bucket first;
- a process may hold granted requests another process could have used, so a user
  spreading requests over many processes can be refused slightly before the limit.
  Leases follow the user's pace in this process (one request at first, doubling
  while each lease is spent within `lease_seconds`, never more than about
  `lease_seconds` of the rate nor `MAX_LEASE`), lapse after `lease_seconds`, and
  what lapsed unspent is given back to the bucket with the next lease;
- at low limits (60 a minute) the lease is one request: every request asks the
  database, which is cheap at that rate and exact;
- once the shared bucket refuses, the process answers 429 locally until the bucket
  could grant again: a flooding client costs the database nothing.

The database's clock is the only clock, so hosts need not agree on the time.

**Anonymous (`RateLimiter`).** The survey links answer callers without a token; they
are limited per client address in each process's memory.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

MAX_LEASE = 100
LEASE_SECONDS = 1.0
# A float's rounding must not cost a request that fits exactly.
_EPSILON = 1e-9

# One statement, one round trip: create the user's bucket (full, less this lease) or
# take up to :k requests from it. Every expression reads the row as it was (b.*).
_NOW = "extract(epoch FROM now())::float8"
# The bucket as it was (b.*), with what this process gives back unspent from its last
# lease: as if those requests had never been granted.
_BASE = f"greatest(b.tat - CAST(:returned AS int) * CAST(:interval AS float8), {_NOW})"
# Requests the bucket can grant now.
_FITS = (
    f"greatest(0, floor((CAST(:tolerance AS float8) - ({_BASE} - {_NOW}))"
    " / CAST(:interval AS float8) + 1e-9))::int"
)
# One statement, one round trip, autocommit: create the user's bucket (full, less
# this lease) or give back and take up to :k requests from it.
_LEASE = text(
    f"""
    INSERT INTO rate_limit_buckets AS b (user_id, tat, granted)
    VALUES (:user_id, {_NOW} + CAST(:k AS int) * CAST(:interval AS float8), :k)
    ON CONFLICT (user_id) DO UPDATE SET
        tat = {_BASE} + least(:k, {_FITS}) * CAST(:interval AS float8),
        granted = least(:k, {_FITS})
    RETURNING b.tat, b.granted, {_NOW} AS now
    """  # noqa: S608 - constant fragments, no input
)


@dataclass(slots=True, frozen=True)
class Quota:
    """What the RateLimit-* headers tell the caller."""

    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [
            (b"ratelimit-limit", str(self.limit).encode()),
            (b"ratelimit-remaining", str(self.remaining).encode()),
            (b"ratelimit-reset", str(self.reset_seconds).encode()),
        ]


@dataclass(slots=True, frozen=True)
class Decision:
    quota: Quota
    retry_after: int | None = None  # set when refused

    @property
    def allowed(self) -> bool:
        return self.retry_after is None


@dataclass(slots=True)
class _Allowance:
    """What this process holds of one user's shared bucket."""

    budget: int = 0
    expires: float = 0.0  # monotonic; unspent budget lapses then (and is given back)
    size: int = 1  # the next lease's size, following this process's pace for the user
    granted: int = 0  # what the last lease granted
    shared_remaining: int = 0  # what the shared bucket had left after the last lease
    full_at: float = 0.0  # monotonic; when the shared bucket is full again
    refused_until: float = 0.0  # monotonic; the shared bucket grants nothing before
    leasing: asyncio.Future[None] | None = None


class SharedRateLimiter:
    def __init__(
        self,
        engine: AsyncEngine,
        per_minute: int,
        burst: int,
        *,
        lease_seconds: float = LEASE_SECONDS,
        max_users: int = 100_000,
    ) -> None:
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.burst = burst
        self.interval = 60.0 / per_minute  # seconds per request at the sustained rate
        self.tolerance = burst * self.interval
        self.lease_size = max(1, min(burst, MAX_LEASE, math.floor(lease_seconds / self.interval)))
        self.lease_seconds = lease_seconds
        self.max_users = max_users
        self._allowances: dict[int, _Allowance] = {}

    async def acquire(self, user_id: int) -> Decision:
        allowance = self._allowances.get(user_id)
        if allowance is None:
            if len(self._allowances) >= self.max_users:
                self._forget_idle(time.monotonic())
            allowance = self._allowances[user_id] = _Allowance()
        while True:
            now = time.monotonic()
            if allowance.budget > 0 and now < allowance.expires:
                allowance.budget -= 1
                return Decision(self._quota(allowance, now))
            if now < allowance.refused_until:
                return Decision(
                    self._quota(allowance, now), max(1, math.ceil(allowance.refused_until - now))
                )
            if allowance.leasing is not None:
                # Another request of this user is leasing: share what it gets.
                await asyncio.shield(allowance.leasing)
                continue
            await self._lease(user_id, allowance)

    async def _lease(self, user_id: int, allowance: _Allowance) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        allowance.leasing = done
        unspent = allowance.budget  # the last lease lapsed (or there was none)
        spent = allowance.granted - unspent
        # Spent in time: the pace is at least that, lease twice as much. Otherwise lease
        # what was spent, so a slow user holds little that other processes could use.
        wanted = 2 * spent if unspent == 0 and spent > 0 else spent
        allowance.size = max(1, min(self.lease_size, wanted))
        allowance.budget = allowance.granted = 0
        try:
            async with self._engine.connect() as connection:
                row = (
                    await connection.execute(
                        _LEASE,
                        {
                            "user_id": user_id,
                            "k": allowance.size,
                            "returned": unspent,
                            "interval": self.interval,
                            "tolerance": self.tolerance,
                        },
                    )
                ).one()
        finally:
            allowance.leasing = None
            done.set_result(None)
        tat, granted, db_now = float(row.tat), int(row.granted), float(row.now)
        now = time.monotonic()
        ahead = tat - db_now  # how far the bucket is from full, in seconds
        allowance.budget = allowance.granted = granted
        allowance.expires = now + self.lease_seconds
        allowance.shared_remaining = max(
            0, math.floor((self.tolerance - ahead) / self.interval + _EPSILON)
        )
        allowance.full_at = now + max(0.0, ahead)
        if granted == 0:
            # The next request fits when the bucket has drained one interval.
            allowance.refused_until = now + max(0.001, ahead + self.interval - self.tolerance)

    def _quota(self, allowance: _Allowance, now: float) -> Quota:
        held = allowance.budget if now < allowance.expires else 0
        return Quota(
            limit=self.burst,
            remaining=min(self.burst, held + allowance.shared_remaining),
            reset_seconds=max(0, math.ceil(allowance.full_at - now)),
        )

    def _forget_idle(self, now: float) -> None:
        for user_id, allowance in list(self._allowances.items()):
            if (
                allowance.leasing is None
                and now >= allowance.expires
                and now >= allowance.refused_until
            ):
                del self._allowances[user_id]


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """A token bucket per key in this process's memory (anonymous callers by address)."""

    def __init__(self, per_minute: int, burst: int, max_keys: int = 100_000) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.max_keys = max_keys
        self._buckets: dict[object, _Bucket] = {}

    def acquire(self, key: object) -> int | None:
        """Take one request from the key's bucket; return seconds to wait when empty."""
        now = time.monotonic()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._forget_full_buckets(now)
            bucket = self._buckets[key] = _Bucket(self.burst, now)
        else:
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return max(1, math.ceil((1.0 - bucket.tokens) / self.rate))

    def _forget_full_buckets(self, now: float) -> None:
        # A bucket that has refilled completely carries no information.
        for key, bucket in list(self._buckets.items()):
            if bucket.tokens + (now - bucket.updated) * self.rate >= self.burst:
                del self._buckets[key]
