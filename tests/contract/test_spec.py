"""The OpenAPI document says what the service does: statuses, headers, examples, types."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from httpx import AsyncClient

from app.config import Settings
from app.main import create_app
from tests.factories import Actors, assert_problem


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    document: dict[str, Any] = create_app(
        Settings(database_url="postgresql+asyncpg://unused/unused")
    ).openapi()
    return document


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    ]


def test_main_schemas_have_examples_that_match_them(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    with_examples = {name for name, schema in schemas.items() if schema.get("examples")}
    assert {"TicketOut", "TicketCreate", "UserOut", "MessageOut", "Problem"} <= with_examples
    for name in with_examples:
        document = {**spec, "$ref": f"#/components/schemas/{name}"}
        for example in schemas[name]["examples"]:
            jsonschema.validate(example, document, cls=jsonschema.Draft202012Validator)


def test_every_response_declares_the_request_id(spec: dict[str, Any]) -> None:
    for path, method, operation in _operations(spec):
        for code, response in operation["responses"].items():
            assert "X-Request-ID" in response.get("headers", {}), (method, path, code)


def test_public_operations_say_so(spec: dict[str, Any]) -> None:
    public = {op["operationId"] for _p, _m, op in _operations(spec) if op["security"] == []}
    # The survey link and an emailed attachment link carry their own signed token;
    # asking for a sign-in link and redeeming it is how a customer gets a token at all;
    # the SMS provider's webhooks are signed with its auth token (X-Twilio-Signature).
    assert public == {
        "take_in_sms",
        "sms_status",
        "healthz",
        "readyz",
        "get_survey",
        "answer_survey",
        "download_attachment_by_link",
        "request_email_link",
        "redeem_email_link",
    }


def test_statuses_the_middleware_and_handlers_produce_are_declared(spec: dict[str, Any]) -> None:
    for path, method, operation in _operations(spec):
        codes = set(operation["responses"])
        if path.startswith("/api/"):
            assert "503" in codes, (method, path)
        if "requestBody" in operation:
            assert {"400", "413", "415", "422"} <= codes, (method, path)
    ticket = spec["paths"]["/api/v1/tickets/{ticket_id}"]["get"]
    assert {"ETag", "X-Events-Cursor"} <= set(ticket["responses"]["304"]["headers"])


async def test_a_number_is_not_a_date(client: AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()

    for query in ("created_since=0.5", "created_before=1700000000"):
        assert_problem(await client.get(f"/api/v1/feedback?{query}", headers=agent.headers), 422)
    response = await client.get("/api/v1/tickets?updated_since=0.5", headers=agent.headers)
    assert_problem(response, 422)
    fine = await client.get(
        "/api/v1/tickets", params={"updated_since": "2026-03-01T09:00:00Z"}, headers=agent.headers
    )
    assert fine.status_code == 200


async def test_a_body_that_is_not_json_is_415(client: AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()
    body = b'{"subject": "a", "description": "b"}'

    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        headers = {**agent.headers, "Content-Type": content_type}
        response = await client.post("/api/v1/tickets", content=body, headers=headers)
        assert_problem(response, 415)
    malformed = {**agent.headers, "Content-Type": "application/json"}
    assert_problem(await client.post("/api/v1/tickets", content=b"{", headers=malformed), 400)


async def test_405_names_every_method_the_path_accepts(client: AsyncClient) -> None:
    response = await client.request("OPTIONS", "/api/v1/tickets/1")

    assert_problem(response, 405)
    assert response.headers["Allow"] == "GET, PATCH"
