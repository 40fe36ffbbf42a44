"""Every error leaves as RFC 9457 problem details, and bad input is never a 500."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy.exc import DBAPIError

from app.config import Settings
from app.main import create_app
from tests.factories import Actors, assert_problem

MAX_BIGINT = 2**63 - 1

# The clean-slate fixture may only ask for the database before the test starts.
pytestmark = pytest.mark.usefixtures("sessionmaker")


def cursor_of(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


async def test_an_unknown_route_is_404(client: AsyncClient) -> None:
    response = await client.get("/api/v1/nothing-here")

    body = assert_problem(response, 404)
    assert body["type"].startswith("urn:helpdesk:problem:")
    assert body["title"] == "Not Found"
    assert "/api/v1/nothing-here" in body["detail"]


async def test_a_wrong_method_is_405_and_says_what_is_allowed(client: AsyncClient) -> None:
    response = await client.delete("/api/v1/me")

    body = assert_problem(response, 405)
    assert "DELETE" in body["detail"]
    assert response.headers["Allow"] == "GET"


async def test_malformed_json_is_400(client: AsyncClient, actors: Actors) -> None:
    admin = await actors.admin()

    response = await client.post(
        "/api/v1/users",
        content=b'{"email": "a@example.com", "name": ',
        headers={**admin.headers, "Content-Type": "application/json"},
    )

    body = assert_problem(response, 400)
    assert body["type"] == "urn:helpdesk:problem:malformed-json"


async def test_wrong_types_are_422_with_an_error_per_field(
    client: AsyncClient, actors: Actors
) -> None:
    admin = await actors.admin()

    response = await client.post(
        "/api/v1/users",
        json={"email": 5, "name": ["Ann"], "role": "agent", "team_ids": "1"},
        headers=admin.headers,
    )

    body = assert_problem(response, 422)
    assert body["type"] == "urn:helpdesk:problem:validation-error"
    assert all(error.keys() == {"loc", "msg"} for error in body["errors"])
    locs = [error["loc"] for error in body["errors"]]
    assert ["body", "email"] in locs
    assert ["body", "name"] in locs
    assert ["body", "team_ids"] in locs
    assert ["body", "role"] not in locs
    assert "body.email" in body["detail"]


async def test_a_request_the_service_cannot_act_on_is_422_with_errors_too(
    client: AsyncClient, actors: Actors
) -> None:
    agent = await actors.agent()

    response = await client.post(
        "/api/v1/tickets",
        json={
            "subject": "Hi",
            "description": "x",
            "requester": {"email": "a@example.com"},
            "team_id": 999_999,
        },
        headers=agent.headers,
    )

    body = assert_problem(response, 422)
    assert body["errors"] == [{"loc": ["body"], "msg": body["detail"]}]
    assert "999999" in body["detail"]


async def test_a_reused_idempotency_key_names_the_header(
    client: AsyncClient, actors: Actors
) -> None:
    customer = await actors.customer()
    headers = {**customer.headers, "Idempotency-Key": "k-1"}
    first = {"subject": "Hi", "description": "one"}
    created = await client.post("/api/v1/tickets", json=first, headers=headers)
    assert created.status_code == 201, created.text

    again = await client.post(
        "/api/v1/tickets", json={**first, "description": "two"}, headers=headers
    )

    body = assert_problem(again, 422)
    assert body["errors"][0]["loc"] == ["header", "Idempotency-Key"]


async def test_a_body_that_is_not_an_object_is_422(client: AsyncClient, actors: Actors) -> None:
    admin = await actors.admin()

    response = await client.post("/api/v1/teams", json=["Billing"], headers=admin.headers)

    assert_problem(response, 422)


async def test_a_missing_body_is_422(client: AsyncClient, actors: Actors) -> None:
    admin = await actors.admin()

    response = await client.post("/api/v1/teams", headers=admin.headers)

    body = assert_problem(response, 422)
    assert body["errors"][0]["loc"] == ["body"]


async def test_an_unknown_enum_value_is_422(client: AsyncClient, actors: Actors) -> None:
    admin = await actors.admin()

    response = await client.post(
        "/api/v1/users",
        json={"email": "a@example.com", "name": "A", "role": "wizard"},
        headers=admin.headers,
    )

    body = assert_problem(response, 422)
    assert [error["loc"] for error in body["errors"]] == [["body", "role"]]


@pytest.mark.parametrize(
    ("path", "field"),
    [("/api/v1/users", "name"), ("/api/v1/teams", "name")],
)
async def test_a_nul_byte_in_a_string_is_422(
    client: AsyncClient, actors: Actors, path: str, field: str
) -> None:
    admin = await actors.admin()
    fields = {"email": "a@example.com", "name": "A", "role": "agent"} if "users" in path else {}

    response = await client.post(
        path, json={**fields, field: "before\x00after"}, headers=admin.headers
    )

    body = assert_problem(response, 422)
    assert any("NUL" in error["msg"] for error in body["errors"])


async def test_a_huge_string_is_422(client: AsyncClient, actors: Actors) -> None:
    admin = await actors.admin()

    response = await client.post(
        "/api/v1/teams", json={"name": "x" * 100_000}, headers=admin.headers
    )

    body = assert_problem(response, 422)
    assert [error["loc"] for error in body["errors"]] == [["body", "name"]]
    assert len(response.content) < 2_000  # the input is not echoed back


async def test_an_unknown_field_is_422(client: AsyncClient, actors: Actors) -> None:
    admin = await actors.admin()

    response = await client.post(
        "/api/v1/teams", json={"name": "Billing", "is_admin": True}, headers=admin.headers
    )

    body = assert_problem(response, 422)
    assert [error["loc"] for error in body["errors"]] == [["body", "is_admin"]]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/users/{id}"),
        ("PATCH", "/api/v1/users/{id}"),
        ("POST", "/api/v1/users/{id}/tokens"),
        ("GET", "/api/v1/users/{id}/tokens"),
        ("DELETE", "/api/v1/tokens/{id}"),
        ("GET", "/api/v1/teams/{id}"),
        ("PATCH", "/api/v1/teams/{id}"),
    ],
)
@pytest.mark.parametrize("bad_id", [str(MAX_BIGINT + 1), "99999999999999999999999", "0", "-1", "x"])
async def test_an_id_outside_bigint_or_not_a_number_is_422(
    client: AsyncClient, actors: Actors, method: str, path: str, bad_id: str
) -> None:
    admin = await actors.admin()

    response = await client.request(
        method, path.format(id=bad_id), json={"name": "x"}, headers=admin.headers
    )

    body = assert_problem(response, 422)
    assert body["errors"][0]["loc"][0] == "path"


async def test_the_largest_bigint_id_is_simply_not_found(
    client: AsyncClient, actors: Actors
) -> None:
    admin = await actors.admin()

    assert_problem(await client.get(f"/api/v1/users/{MAX_BIGINT}", headers=admin.headers), 404)


async def test_an_id_outside_bigint_in_a_body_or_query_is_422(
    client: AsyncClient, actors: Actors
) -> None:
    admin = await actors.admin()

    in_body = await client.post(
        "/api/v1/teams", json={"name": "T", "member_ids": [MAX_BIGINT + 1]}, headers=admin.headers
    )
    in_query = await client.get(
        "/api/v1/users", params={"team_id": MAX_BIGINT + 1}, headers=admin.headers
    )

    assert_problem(in_body, 422)
    assert_problem(in_query, 422)


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        "not base64 at all",
        cursor_of(["id", 3]),
        cursor_of({"id": "3"}),
        cursor_of({"id": -1}),
        cursor_of({"id": True}),
        cursor_of({"id": 3, "extra": 1}),
        cursor_of({"offset": 3}),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
async def test_a_cursor_we_did_not_issue_is_400(
    client: AsyncClient, actors: Actors, cursor: str
) -> None:
    admin = await actors.admin()

    for path in ("/api/v1/users", "/api/v1/teams"):
        response = await client.get(path, params={"cursor": cursor}, headers=admin.headers)

        body = assert_problem(response, 400)
        assert "cursor" in body["detail"]


@pytest.mark.parametrize("position", [MAX_BIGINT + 1, 10**30])
async def test_a_cursor_past_the_largest_id_is_400(
    client: AsyncClient, actors: Actors, position: int
) -> None:
    admin = await actors.admin()

    response = await client.get(
        "/api/v1/users", params={"cursor": cursor_of({"id": position})}, headers=admin.headers
    )

    assert_problem(response, 400)


async def test_an_overlong_cursor_is_refused(client: AsyncClient, actors: Actors) -> None:
    admin = await actors.admin()

    response = await client.get(
        "/api/v1/users", params={"cursor": "a" * 513}, headers=admin.headers
    )

    assert_problem(response, 422)


async def test_errors_carry_nosniff(client: AsyncClient) -> None:
    response = await client.get("/api/v1/me")

    assert response.headers["X-Content-Type-Options"] == "nosniff"


# Health


async def test_healthz_says_ok(client: AsyncClient) -> None:
    response = await client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_says_the_database_is_at_the_latest_migration(client: AsyncClient) -> None:
    response = await client.get("/readyz")

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["database"]) == ("ok", "ok")
    assert body["migration"] == body["expected_migration"] is not None


# Request size


@pytest.fixture
async def small_client(settings: Settings) -> AsyncIterator[AsyncClient]:
    """A client over an app that accepts request bodies of at most 2 KiB."""
    app = create_app(settings.model_copy(update={"max_body_bytes": 2048}))
    async with app.router.lifespan_context(app):
        transport = ASGITransport(app=app)
        async with AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


async def test_a_body_over_the_limit_is_413(small_client: AsyncClient, actors: Actors) -> None:
    admin = await actors.admin()

    response = await small_client.post(
        "/api/v1/teams", json={"name": "x" * 3000}, headers=admin.headers
    )

    body = assert_problem(response, 413)
    assert "2048" in body["detail"]


async def test_a_chunked_body_over_the_limit_is_413(
    small_client: AsyncClient, actors: Actors
) -> None:
    admin = await actors.admin()

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "'
        for _ in range(10):
            yield b"x" * 500
        yield b'"}'

    response = await small_client.post(
        "/api/v1/teams",
        content=chunks(),
        headers={**admin.headers, "Content-Type": "application/json"},
    )

    assert "content-length" not in response.request.headers
    assert_problem(response, 413)


async def test_a_body_under_the_limit_passes(small_client: AsyncClient, actors: Actors) -> None:
    admin = await actors.admin()

    response = await small_client.post(
        "/api/v1/teams", json={"name": "Billing"}, headers=admin.headers
    )

    assert response.status_code == 201, response.text


# Failures on our side


class _FakeDriverError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"driver error {sqlstate}")
        self.sqlstate = sqlstate


@pytest.fixture
async def failing_client(settings: Settings) -> AsyncIterator[AsyncClient]:
    """A client over an app with routes that fail the way a bug or the database would."""
    app: FastAPI = create_app(settings)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    @app.get("/database/{sqlstate}")
    async def database(sqlstate: str) -> None:
        raise DBAPIError("SELECT 1", {}, _FakeDriverError(sqlstate))

    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def test_an_unexpected_error_is_a_500_problem_without_internals(
    failing_client: AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    response = await failing_client.get("/boom")

    body = assert_problem(response, 500)
    assert "secret internals" not in response.text
    assert body["type"] == "urn:helpdesk:problem:internal-error"
    assert "secret internals" in caplog.text  # but it is logged


@pytest.mark.parametrize(
    ("sqlstate", "status", "slug"),
    [
        ("22003", 400, "invalid-value"),  # numeric value out of range
        ("23505", 409, "conflict"),  # unique violation
        ("40001", 409, "concurrent-update"),  # serialization failure
        ("40P01", 409, "concurrent-update"),  # deadlock
        ("XX000", 500, "internal-error"),  # anything else is ours
    ],
)
async def test_database_refusals_map_to_client_errors(
    failing_client: AsyncClient, sqlstate: str, status: int, slug: str
) -> None:
    response = await failing_client.get(f"/database/{sqlstate}")

    body = assert_problem(response, status)
    assert body["type"] == f"urn:helpdesk:problem:{slug}"
