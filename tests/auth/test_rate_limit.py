"""Rate limits: one token bucket per user, whatever token they use and whichever process
serves them; over the limit is 429 with Retry-After, and every answer says where the
caller stands (RateLimit-Limit, -Remaining, -Reset)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from app.auth.rate_limit import RateLimiter, SharedRateLimiter, _Allowance
from app.config import Settings
from app.main import create_app
from app.models import RateLimitBucket
from tests.factories import Actors, assert_problem


@pytest.fixture
async def strict_client(settings: Settings) -> AsyncIterator[AsyncClient]:
    """A client over an app that allows a burst of 3, then one request a second."""
    app = create_app(
        settings.model_copy(update={"rate_limit_per_minute": 60, "rate_limit_burst": 3})
    )
    async with app.router.lifespan_context(app):
        transport = ASGITransport(app=app)
        async with AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


async def test_the_request_after_the_burst_is_429_with_retry_after(
    strict_client: AsyncClient, actors: Actors
) -> None:
    agent = await actors.agent()
    for _ in range(3):
        assert (await strict_client.get("/api/v1/me", headers=agent.headers)).status_code == 200

    response = await strict_client.get("/api/v1/me", headers=agent.headers)

    body = assert_problem(response, 429)
    assert body["type"] == "urn:helpdesk:problem:rate-limited"
    assert response.headers["Retry-After"] == "1"  # one request a second refills in 1 s


async def test_another_user_has_their_own_bucket(
    strict_client: AsyncClient, actors: Actors
) -> None:
    hasty, patient = await actors.agent(), await actors.agent()
    for _ in range(4):
        await strict_client.get("/api/v1/me", headers=hasty.headers)
    assert_problem(await strict_client.get("/api/v1/me", headers=hasty.headers), 429)

    response = await strict_client.get("/api/v1/me", headers=patient.headers)

    assert response.status_code == 200, response.text


async def test_a_users_tokens_share_one_limit(strict_client: AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()
    minted = await strict_client.post(
        f"/api/v1/users/{agent.id}/tokens", json={"name": "second"}, headers=agent.headers
    )  # the first of the burst of 3
    second = {"Authorization": f"Bearer {minted.json()['token']}"}
    assert (await strict_client.get("/api/v1/me", headers=second)).status_code == 200
    assert (await strict_client.get("/api/v1/me", headers=agent.headers)).status_code == 200

    # Minting tokens does not multiply the limit: the user's bucket is empty.
    response = await strict_client.get("/api/v1/me", headers=second)

    assert_problem(response, 429)


async def test_every_answer_says_where_the_caller_stands(
    strict_client: AsyncClient, actors: Actors
) -> None:
    agent = await actors.agent()
    answers = [await strict_client.get("/api/v1/me", headers=agent.headers) for _ in range(4)]

    assert [a.headers["RateLimit-Limit"] for a in answers] == ["3"] * 4
    assert [a.headers["RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    # Full again after the three requests drain at one a second.
    assert 2 <= int(answers[2].headers["RateLimit-Reset"]) <= 3
    assert answers[3].status_code == 429
    assert answers[3].headers["Retry-After"] == "1"


async def test_two_processes_share_the_users_limit(settings: Settings, actors: Actors) -> None:
    # Two apps are two processes' worth of local state over one database.
    strict = settings.model_copy(update={"rate_limit_per_minute": 60, "rate_limit_burst": 4})
    agent = await actors.agent()
    statuses = []
    apps = [create_app(strict), create_app(strict)]
    async with apps[0].router.lifespan_context(apps[0]), apps[1].router.lifespan_context(apps[1]):
        clients = [
            AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver")
            for app in apps
        ]
        for turn in range(8):
            response = await clients[turn % 2].get("/api/v1/me", headers=agent.headers)
            statuses.append(response.status_code)
        for http in clients:
            await http.aclose()

    # Within a second or so: the burst of 4, and perhaps one more refilled.
    assert 4 <= statuses.count(200) <= 5, statuses
    assert statuses[:4] == [200] * 4


async def test_requests_without_a_valid_token_are_401_not_429(
    strict_client: AsyncClient, actors: Actors
) -> None:
    # Unknown tokens have no bucket: they are refused before the limiter is asked.
    await actors.agent()
    for _ in range(5):
        response = await strict_client.get("/api/v1/me", headers={"Authorization": "Bearer nope"})
        assert_problem(response, 401)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    # Only the limiter's view of time: the event loop keeps the real clock.
    monkeypatch.setattr("app.auth.rate_limit.time", SimpleNamespace(monotonic=fake))
    return fake


def test_leases_are_one_request_at_low_rates_and_bounded_at_high_ones() -> None:
    engine = create_async_engine("postgresql+asyncpg://unused/unused")
    assert SharedRateLimiter(engine, per_minute=60, burst=10).lease_size == 1
    assert SharedRateLimiter(engine, per_minute=1200, burst=200).lease_size == 20
    assert SharedRateLimiter(engine, per_minute=100_000_000, burst=10**6).lease_size == 100
    assert SharedRateLimiter(engine, per_minute=100_000, burst=3).lease_size == 3


# The anonymous (per client address) limiter of the survey links, in process memory.


def test_the_limiter_allows_the_burst_then_says_how_long_to_wait(clock: FakeClock) -> None:
    limiter = RateLimiter(per_minute=6, burst=2)  # one request every 10 s

    assert limiter.acquire("a") is None
    assert limiter.acquire("a") is None
    assert limiter.acquire("a") == 10


def test_the_limiter_refills_at_the_configured_rate(clock: FakeClock) -> None:
    limiter = RateLimiter(per_minute=6, burst=2)
    limiter.acquire("a")
    limiter.acquire("a")

    clock.now += 4
    assert limiter.acquire("a") == 6  # 0.4 of a request refilled, 6 s to go

    clock.now += 6
    assert limiter.acquire("a") is None
    assert limiter.acquire("a") is not None


def test_the_limiter_never_refills_beyond_the_burst(clock: FakeClock) -> None:
    limiter = RateLimiter(per_minute=60, burst=2)
    limiter.acquire("a")

    clock.now += 3600

    assert [limiter.acquire("a") for _ in range(3)] == [None, None, 1]


def test_the_limiter_keeps_a_bucket_per_key(clock: FakeClock) -> None:
    limiter = RateLimiter(per_minute=60, burst=1)

    assert limiter.acquire(1) is None
    assert limiter.acquire(1) == 1
    assert limiter.acquire(2) is None


def test_the_limiter_forgets_full_buckets_when_it_has_too_many_keys(clock: FakeClock) -> None:
    limiter = RateLimiter(per_minute=60, burst=1, max_keys=2)
    limiter.acquire("old")
    limiter.acquire("busy")
    clock.now += 0.5  # "old" and "busy" are still refilling

    limiter.acquire("new")  # over max_keys, but nothing is full: nothing is forgotten
    assert limiter.acquire("old") == 1

    clock.now += 5  # every bucket has refilled
    limiter.acquire("newer")
    # A forgotten full bucket behaves exactly like a remembered one, so memory is the
    # only place the difference shows.
    assert set(limiter._buckets) == {"newer"}


# Leases follow the pace, and what lapses unspent goes back.


async def test_a_slow_user_in_one_process_leaves_the_rest_to_the_others(
    app: FastAPI, actors: Actors
) -> None:
    agent = await actors.agent()
    # Leases may last long here, so nothing lapses while the test runs.
    first, second = (
        SharedRateLimiter(app.state.engine, per_minute=60, burst=50, lease_seconds=100)
        for _ in range(2)
    )
    for _ in range(8):  # leases of 1, 2 and 4, spent, then one of 8: 7 held
        assert (await first.acquire(agent.id)).allowed

    decision = await second.acquire(agent.id)

    # Holding a whole burst per process (50) would have refused it.
    assert decision.allowed
    assert 50 - 15 - 1 <= decision.quota.remaining <= 50 - 15 + 2


async def test_requests_a_lease_left_unspent_go_back_to_the_bucket(
    app: FastAPI, actors: Actors, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    agent = await actors.agent()
    limiter = SharedRateLimiter(app.state.engine, per_minute=60, burst=50, lease_seconds=100)
    # Forty requests' worth ahead of now, so giving five back cannot reach the present.
    await limiter._lease(agent.id, _Allowance(granted=20))  # spent in time: 40 next
    allowance = _Allowance(budget=5, granted=5)  # lapsed with five unspent
    before = await _tat(sessionmaker, agent.id)

    await limiter._lease(agent.id, allowance)

    # Five given back, one taken (nothing was spent: the next lease is the smallest).
    assert allowance.granted == 1
    assert await _tat(sessionmaker, agent.id) == pytest.approx(before - 5 + 1)


async def _tat(sessionmaker: async_sessionmaker[AsyncSession], user_id: int) -> float:
    async with sessionmaker() as session:
        bucket = await session.get(RateLimitBucket, user_id)
        assert bucket is not None
        return bucket.tat
