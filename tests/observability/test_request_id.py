"""Every request has an id: the caller's when sane, else a new one; it comes back in the
X-Request-ID header and in problem details, and /metrics answers whom it should."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from pydantic import SecretStr

from app.config import Settings
from app.main import create_app
from app.observability.logs import JsonFormatter, RequestIdFilter
from tests.factories import Actors, assert_problem


async def test_a_sane_caller_id_is_echoed(client: AsyncClient) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.42"})

    assert response.headers["X-Request-ID"] == "lb-7f3a.42"


@pytest.mark.parametrize("given", ["", "a b", "x" * 129, "bad\x01id", "é"])
async def test_an_insane_caller_id_is_replaced(client: AsyncClient, given: str) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": given.encode("latin-1")})

    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


async def test_without_one_each_request_gets_its_own(client: AsyncClient) -> None:
    first, second = await client.get("/healthz"), await client.get("/healthz")

    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]


async def test_problem_details_carry_the_request_id(client: AsyncClient, actors: Actors) -> None:
    await actors.agent()
    response = await client.get(
        "/api/v1/me", headers={"Authorization": "Bearer nope", "X-Request-ID": "req-401"}
    )

    assert assert_problem(response, 401)["request_id"] == "req-401"


async def test_a_body_too_large_is_refused_with_the_request_id(client: AsyncClient) -> None:
    response = await client.post(
        "/api/v1/tickets", content=b"x" * 2_000_000, headers={"X-Request-ID": "big-1"}
    )

    assert assert_problem(response, 413)["request_id"] == "big-1"
    assert response.headers["X-Request-ID"] == "big-1"


async def test_an_unexpected_failure_is_a_problem_with_the_request_id(
    settings: Settings,
) -> None:
    app = create_app(settings)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    async with app.router.lifespan_context(app):
        transport = ASGITransport(app=app, raise_app_exceptions=False)
        async with AsyncClient(transport=transport, base_url="http://testserver") as http:
            response = await http.get("/boom", headers={"X-Request-ID": "bug-1"})

    body = assert_problem(response, 500)
    assert body["request_id"] == "bug-1"
    assert response.headers["X-Request-ID"] == "bug-1"


async def test_log_records_during_a_request_carry_its_id(
    client: AsyncClient, actors: Actors, caplog: pytest.LogCaptureFixture
) -> None:
    await actors.agent()
    caplog.handler.addFilter(RequestIdFilter())
    with caplog.at_level(logging.INFO, logger="helpdesk.access"):
        await client.get("/api/v1/me", headers={"X-Request-ID": "follow-me"})

    access = [r for r in caplog.records if r.name == "helpdesk.access"]
    assert [r.request_id for r in access] == ["follow-me"]  # type: ignore[attr-defined]
    line = JsonFormatter().format(access[0])
    assert '"request_id": "follow-me"' in line
    assert '"route": "/api/v1/me"' in line
    assert '"status": 401' in line


@pytest.fixture
async def guarded_app(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(settings.model_copy(update={"metrics_token": SecretStr("scrape-secret")}))
    async with app.router.lifespan_context(app):
        yield app


async def test_metrics_need_the_token_when_one_is_set(guarded_app: FastAPI) -> None:
    transport = ASGITransport(app=guarded_app)
    async with AsyncClient(transport=transport, base_url="http://testserver") as http:
        assert_problem(await http.get("/metrics"), 401)
        allowed = await http.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})

    assert allowed.status_code == 200
    assert "helpdesk_http_request_duration_seconds" in allowed.text


async def test_without_a_token_metrics_answer_loopback_only(app: FastAPI) -> None:
    outside = ASGITransport(app=app, client=("203.0.113.9", 40000))
    async with AsyncClient(transport=outside, base_url="http://testserver") as http:
        assert_problem(await http.get("/metrics"), 403)
    inside = ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with AsyncClient(transport=inside, base_url="http://testserver") as http:
        assert (await http.get("/metrics")).status_code == 200
