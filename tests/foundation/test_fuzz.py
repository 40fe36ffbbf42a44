"""Random input at the people and token endpoints: never a 500, every error a problem.

Three kinds of body: any JSON value; any text, mostly not JSON at all; and objects
with the endpoint's own field names, all valid, one wrong or any mix, which get past
the parser into validation, the services and PostgreSQL.
"""

from __future__ import annotations

import json
import string
from typing import Any

from httpx import AsyncClient, Response
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import Actor, Actors

# Text with what PostgreSQL and the JSON layer find awkward: control characters, NUL,
# lone surrogates (JSON can carry them as escapes, UTF-8 cannot encode them), long runs.
awkward_text = st.text(
    st.characters(categories=["Cc", "Cs", "Lu", "Ll", "Nd", "Po", "Zs", "So"]), max_size=30
) | st.sampled_from(["", " ", "\x00", "a\x00b", "\ud800", "x" * 5000, "'; DROP TABLE users;--"])
ints = st.integers() | st.sampled_from([0, -1, 2**63 - 1, 2**63, -(2**63) - 1])
json_values = st.recursive(
    st.none() | st.booleans() | ints | st.floats() | awkward_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(awkward_text, children, max_size=4)
    ),
    max_leaves=12,
)


# Small ids name rows that exist: every example adds users and a team.
some_ids = st.lists(st.integers(min_value=1, max_value=5), max_size=3)
USER_FIELDS = {
    "email": st.emails() | st.sampled_from(["Ann@Example.com", "ann@example.com"]),
    "name": st.text(string.ascii_letters + " ", min_size=1, max_size=20),
    "role": st.sampled_from(["admin", "supervisor", "agent", "customer", "integration"]),
    "phone": st.sampled_from(["+393331234567", "+14155550123", None]),
    "timezone": st.sampled_from(["UTC", "Europe/Rome", "Etc/GMT+5"]),
    "locale": st.sampled_from(["en", "it", "pt-BR"]),
    "active": st.booleans(),
    "team_ids": some_ids,
}
USER_CREATE = {name: value for name, value in USER_FIELDS.items() if name != "active"}
USER_UPDATE = {name: value for name, value in USER_FIELDS.items() if name != "email"}
TEAM_FIELDS = {
    "name": st.text(string.ascii_letters, min_size=1, max_size=10),
    "member_ids": some_ids,
    "assignment": st.sampled_from(["manual", "round_robin", "least_loaded"]),
}
TOKEN_FIELDS = {
    "name": st.text(string.ascii_letters, min_size=1, max_size=10),
    "expires_at": st.sampled_from(
        [
            "2999-01-01T00:00:00Z",
            "2000-01-01T00:00:00+02:00",
            "2999-01-01",
            "9999-12-31T23:59:59-14:00",
            "0001-01-01T00:00:00+14:00",
        ]
    ),
}


def shaped(valid: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with the endpoint's field names: all valid, one field wrong, or any mix."""
    all_valid = st.fixed_dictionaries(valid)
    one_wrong = st.tuples(all_valid, st.sampled_from(sorted(valid)), json_values).map(
        lambda parts: {**parts[0], parts[1]: parts[2]}
    )
    mixed = st.fixed_dictionaries(
        {}, optional={name: value | json_values for name, value in valid.items()}
    )
    return all_valid | one_wrong | mixed


def as_json(value: Any) -> bytes:
    # ensure_ascii: lone surrogates travel as \ud800 escapes, as a hostile client sends them.
    return json.dumps(value).encode()


def bodies(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[bytes]:
    return (
        shaped(fields).map(as_json)
        | json_values.map(as_json)
        | awkward_text.map(lambda text: text.encode("utf-8", "surrogatepass"))
    )


path_ids = st.none() | ints  # None: the real row under test

fuzz = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


async def send(client: AsyncClient, caller: Actor, method: str, path: str, body: bytes) -> None:
    response = await client.request(
        method, path, content=body, headers={**caller.headers, "Content-Type": "application/json"}
    )
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert_problem_shape(response)


def assert_problem_shape(response: Response) -> None:
    assert response.headers["content-type"] == "application/problem+json", response.text
    problem = response.json()
    assert problem.keys() >= {"type", "title", "status", "detail", "instance"}, problem
    assert problem["status"] == response.status_code


async def a_team(client: AsyncClient, admin: Actor) -> int:
    response = await client.post(
        "/api/v1/teams", json={"name": f"T{admin.id}"}, headers=admin.headers
    )
    assert response.status_code == 201, response.text
    team_id: int = response.json()["id"]
    return team_id


@fuzz
@given(body=bodies(USER_CREATE))
async def test_creating_users_never_fails_on_our_side(
    client: AsyncClient, actors: Actors, body: bytes
) -> None:
    admin = await actors.admin()
    await a_team(client, admin)

    await send(client, admin, "POST", "/api/v1/users", body)


@fuzz
@given(body=bodies(USER_UPDATE), path_id=path_ids)
async def test_changing_users_never_fails_on_our_side(
    client: AsyncClient, actors: Actors, body: bytes, path_id: int | None
) -> None:
    admin, agent = await actors.admin(), await actors.agent()
    await a_team(client, admin)

    target = agent.id if path_id is None else path_id
    await send(client, admin, "PATCH", f"/api/v1/users/{target}", body)


@fuzz
@given(body=bodies(TEAM_FIELDS))
async def test_creating_teams_never_fails_on_our_side(
    client: AsyncClient, actors: Actors, body: bytes
) -> None:
    admin = await actors.admin()
    await actors.customer()  # a user who may not be a member

    await send(client, admin, "POST", "/api/v1/teams", body)


@fuzz
@given(body=bodies(TEAM_FIELDS), path_id=path_ids)
async def test_changing_teams_never_fails_on_our_side(
    client: AsyncClient, actors: Actors, body: bytes, path_id: int | None
) -> None:
    admin = await actors.admin()
    await actors.customer()
    team_id = await a_team(client, admin)

    target = team_id if path_id is None else path_id
    await send(client, admin, "PATCH", f"/api/v1/teams/{target}", body)


@fuzz
@given(body=bodies(TOKEN_FIELDS), path_id=path_ids)
async def test_issuing_tokens_never_fails_on_our_side(
    client: AsyncClient, actors: Actors, body: bytes, path_id: int | None
) -> None:
    admin = await actors.admin()

    target = admin.id if path_id is None else path_id
    await send(client, admin, "POST", f"/api/v1/users/{target}/tokens", body)
