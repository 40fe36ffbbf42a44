"""Input on every ticket endpoint: malformed input is a 4xx problem, never a 500, and
leaves every row as it was; valid but hostile text is stored and returned exactly."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient, Response

from app.common.pagination import encode_cursor
from tests.factories import Actor, Actors, assert_problem
from tests.tickets.helpers import (
    API,
    JSON,
    Maker,
    count_idempotency_records,
    count_messages,
    count_tickets,
    count_users,
    file_ticket,
    get_ticket,
    listed_ids,
    messages,
    reply,
    snapshot,
    ticket_url,
)

DROP = object()  # an override that removes the field
BIG = 2**63  # one past PostgreSQL's bigint
NUL = "a\x00b"


def merged(base: JSON, overrides: JSON) -> JSON:
    body = {**base, **overrides}
    return {key: value for key, value in body.items() if value is not DROP}


def cases(table: dict[str, tuple[JSON, int]]) -> Any:
    return pytest.mark.parametrize(("overrides", "status"), list(table.values()), ids=list(table))


def assert_refused(response: Response, status: int) -> None:
    problem = assert_problem(response, status)
    if status == 422:
        assert problem.get("errors") or problem["detail"]
        for error in problem.get("errors", []):
            assert set(error) == {"loc", "msg"}


class World:
    """A ticket with some history, and the counts that must not move."""

    def __init__(self, client: AsyncClient, sessionmaker: Maker, agent: Actor, ticket: JSON):
        self.client, self.sessionmaker, self.agent, self.ticket = (
            client,
            sessionmaker,
            agent,
            ticket,
        )
        self.before: JSON = {}

    async def freeze(self) -> None:
        self.before = await self.state()

    async def state(self) -> JSON:
        return {
            "ticket": await snapshot(self.sessionmaker, self.ticket["id"]),
            "tickets": await count_tickets(self.sessionmaker),
            "messages": await count_messages(self.sessionmaker),
            "users": await count_users(self.sessionmaker),
            "keys": await count_idempotency_records(self.sessionmaker),
        }

    async def assert_unchanged(self) -> None:
        assert await self.state() == self.before


@pytest.fixture
async def world(client: AsyncClient, actors: Actors, sessionmaker: Maker) -> World:
    agent, customer = await actors.agent(), await actors.customer()
    ticket = await file_ticket(client, agent, for_customer=customer, tags=["a"], category="c")
    await reply(client, agent, ticket["id"], "First reply")
    state = World(client, sessionmaker, agent, await get_ticket(client, agent, ticket["id"]))
    await state.freeze()
    return state


# POST /tickets

CREATE = {"subject": "Subject", "description": "Description", "requester": {"email": "p@x.io"}}
BAD_CREATES: dict[str, tuple[JSON, int]] = {
    "no subject": ({"subject": DROP}, 422),
    "no description": ({"description": DROP}, 422),
    "empty subject": ({"subject": ""}, 422),
    "blank subject": ({"subject": "   \n\t "}, 422),
    "long subject": ({"subject": "s" * 301}, 422),
    "NUL in subject": ({"subject": NUL}, 422),
    "numeric subject": ({"subject": 123}, 422),
    "null subject": ({"subject": None}, 422),
    "list subject": ({"subject": ["a"]}, 422),
    "empty description": ({"description": ""}, 422),
    "long description": ({"description": "d" * 100_001}, 422),
    "NUL in description": ({"description": NUL}, 422),
    "object description": ({"description": {"html": "<b>"}}, 422),
    "unknown channel": ({"channel": "fax"}, 422),
    "unknown urgency": ({"urgency": "extreme"}, 422),
    "numeric impact": ({"impact": 3}, 422),
    "priority given": ({"priority": "critical"}, 422),
    "status given": ({"status": "closed"}, 422),
    "owner given": ({"owner_id": 1}, 422),
    "id given": ({"id": 5}, 422),
    "unknown field": ({"hacker": True}, 422),
    "empty category": ({"category": " "}, 422),
    "long category": ({"category": "c" * 101}, 422),
    "NUL in category": ({"category": NUL}, 422),
    "tags not a list": ({"tags": "vip"}, 422),
    "numeric tag": ({"tags": [1]}, 422),
    "empty tag": ({"tags": [""]}, 422),
    "long tag": ({"tags": ["t" * 51]}, 422),
    "NUL in tag": ({"tags": [NUL]}, 422),
    "too many tags": ({"tags": [f"t{n}" for n in range(21)]}, 422),
    "team zero": ({"team_id": 0}, 422),
    "negative team": ({"team_id": -1}, 422),
    "team past bigint": ({"team_id": BIG}, 422),
    "team not a number": ({"team_id": "abc"}, 422),
    "fractional team": ({"team_id": 1.5}, 422),
    "unknown team": ({"team_id": 999_999}, 422),
    "requester id zero": ({"requester": DROP, "requester_id": 0}, 422),
    "requester id past bigint": ({"requester": DROP, "requester_id": BIG}, 422),
    "requester id text": ({"requester": DROP, "requester_id": "me"}, 422),
    "unknown requester id": ({"requester": DROP, "requester_id": 999_999}, 422),
    "both requesters": ({"requester_id": 1}, 422),
    "bad email": ({"requester": {"email": "not-an-email"}}, 422),
    "email missing": ({"requester": {"name": "Nobody"}}, 422),
    "requester not an object": ({"requester": "p@x.io"}, 422),
    "bad phone": ({"requester": {"email": "p@x.io", "phone": "12"}}, 422),
    "long requester name": ({"requester": {"email": "p@x.io", "name": "n" * 201}}, 422),
    "NUL in requester name": ({"requester": {"email": "p@x.io", "name": NUL}}, 422),
    "unknown requester field": ({"requester": {"email": "p@x.io", "role": "admin"}}, 422),
    "empty external ref": ({"external_ref": " "}, 422),
    "long external ref": ({"external_ref": "r" * 201}, 422),
    "NUL in external ref": ({"external_ref": NUL}, 422),
}


@cases(BAD_CREATES)
async def test_malformed_tickets_are_refused_and_create_nothing(
    client: AsyncClient, world: World, overrides: JSON, status: int
) -> None:
    response = await client.post(
        f"{API}/tickets",
        json=merged(CREATE, overrides),
        headers={**world.agent.headers, "Idempotency-Key": "input"},
    )

    assert_refused(response, status)
    await world.assert_unchanged()


RAW_BODIES: dict[str, tuple[bytes, str, int]] = {
    "empty": (b"", "application/json", 422),
    "not JSON": (b"subject=hello", "application/json", 400),
    "truncated JSON": (b'{"subject": "x", ', "application/json", 400),
    "JSON array": (b"[]", "application/json", 422),
    "JSON string": (b'"hello"', "application/json", 422),
    "JSON null": (b"null", "application/json", 422),
    "invalid UTF-8": (b'{"subject": "\xff\xfe", "description": "d"}', "application/json", 400),
    "lone surrogate": (b'{"subject": "\\ud800", "description": "d"}', "application/json", 422),
    "deeply nested": (b"[" * 100_000, "application/json", 400),
    "huge number": (b'{"subject": "s", "team_id": 1' + b"0" * 5000 + b"}", "application/json", 400),
    "form encoded": (b"subject=a&description=b", "application/x-www-form-urlencoded", 415),
    "plain text": (b'{"subject": "a", "description": "b"}', "text/plain", 415),
}


@pytest.mark.parametrize(("raw", "content_type", "status"), RAW_BODIES.values(), ids=RAW_BODIES)
@pytest.mark.parametrize("tail", ["", "/{id}", "/{id}/assign", "/{id}/status", "/{id}/messages"])
async def test_bodies_that_are_not_a_json_object_are_refused_everywhere(
    client: AsyncClient, world: World, raw: bytes, content_type: str, status: int, tail: str
) -> None:
    method = "PATCH" if tail == "/{id}" else "POST"
    path = f"{API}/tickets" + tail.format(id=world.ticket["id"])

    response = await client.request(
        method,
        path,
        content=raw,
        headers={**world.agent.headers, "Content-Type": content_type, "Idempotency-Key": "raw"},
    )

    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/problem+json"
    if not tail:
        assert_refused(response, status)
    await world.assert_unchanged()


async def test_a_body_over_the_size_limit_is_413(client: AsyncClient, world: World) -> None:
    response = await client.post(
        f"{API}/tickets",
        json={**CREATE, "description": "d" * 1_100_000},
        headers=world.agent.headers,
    )

    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    await world.assert_unchanged()


async def test_the_longest_allowed_subject_and_description_are_kept(
    client: AsyncClient, actors: Actors
) -> None:
    customer = await actors.customer()

    ticket = await file_ticket(client, customer, subject="s" * 300, description="d" * 100_000)

    assert len(ticket["subject"]) == 300
    assert len(ticket["description"]) == 100_000


# PATCH /tickets/{id}

BAD_PATCHES: dict[str, tuple[JSON, int]] = {
    "null subject": ({"subject": None}, 422),
    "null urgency": ({"urgency": None}, 422),
    "null impact": ({"impact": None}, 422),
    "null tags": ({"tags": None}, 422),
    "blank subject": ({"subject": "  "}, 422),
    "long subject": ({"subject": "s" * 301}, 422),
    "NUL in subject": ({"subject": NUL}, 422),
    "unknown urgency": ({"urgency": "now"}, 422),
    "priority": ({"priority": "critical"}, 422),
    "status": ({"status": "closed"}, 422),
    "description": ({"description": "rewritten history"}, 422),
    "owner": ({"owner_id": 1}, 422),
    "requester": ({"requester_id": 1}, 422),
    "external ref": ({"external_ref": "X"}, 422),
    "version": ({"version": 99}, 422),
    "unknown field": ({"foo": 1}, 422),
    "long tag": ({"tags": ["t" * 51]}, 422),
    "too many tags": ({"tags": [f"t{n}" for n in range(21)]}, 422),
    "team past bigint": ({"team_id": BIG}, 422),
    "unknown team": ({"team_id": 999_999}, 422),
    "long category": ({"category": "c" * 101}, 422),
}


@cases(BAD_PATCHES)
async def test_malformed_edits_are_refused_and_change_nothing(
    client: AsyncClient, world: World, overrides: JSON, status: int
) -> None:
    response = await client.patch(
        ticket_url(world.ticket["id"]),
        json={"subject": "Would change", **overrides},
        headers=world.agent.headers,
    )

    assert_refused(response, status)
    await world.assert_unchanged()


# POST /tickets/{id}/assign

BAD_ASSIGNS: dict[str, tuple[JSON, int]] = {
    "no reason": ({"reason": DROP}, 422),
    "null reason": ({"reason": None}, 422),
    "unknown reason": ({"reason": "because"}, 422),
    "no owner": ({"owner_id": DROP}, 422),
    "owner text": ({"owner_id": "me"}, 422),
    "owner zero": ({"owner_id": 0}, 422),
    "owner past bigint": ({"owner_id": BIG}, 422),
    "fractional owner": ({"owner_id": 1.5}, 422),
    "owner list": ({"owner_id": [1]}, 422),
    "unknown owner": ({"owner_id": 999_999}, 422),
    "empty note": ({"note": " "}, 422),
    "long note": ({"note": "n" * 5001}, 422),
    "NUL in note": ({"note": NUL}, 422),
    "unknown field": ({"team_id": 1}, 422),
}


@cases(BAD_ASSIGNS)
async def test_malformed_assignments_are_refused_and_change_nothing(
    client: AsyncClient, world: World, overrides: JSON, status: int
) -> None:
    body = merged({"owner_id": world.agent.id, "reason": "manual"}, overrides)

    response = await client.post(
        ticket_url(world.ticket["id"], "/assign"), json=body, headers=world.agent.headers
    )

    assert_refused(response, status)
    await world.assert_unchanged()


# POST /tickets/{id}/status

BAD_STATUS: dict[str, tuple[JSON, int]] = {
    "no status": ({"status": DROP}, 422),
    "null status": ({"status": None}, 422),
    "unknown status": ({"status": "reopened"}, 422),
    "upper case": ({"status": "RESOLVED"}, 422),
    "numeric": ({"status": 3}, 422),
    "empty note": ({"note": ""}, 422),
    "long note": ({"note": "n" * 5001}, 422),
    "NUL in note": ({"note": NUL}, 422),
    "unknown field": ({"resolved_at": "2020-01-01T00:00:00Z"}, 422),
}


@cases(BAD_STATUS)
async def test_malformed_status_moves_are_refused_and_change_nothing(
    client: AsyncClient, world: World, overrides: JSON, status: int
) -> None:
    body = merged({"status": "resolved"}, overrides)

    response = await client.post(
        ticket_url(world.ticket["id"], "/status"), json=body, headers=world.agent.headers
    )

    assert_refused(response, status)
    await world.assert_unchanged()


# POST /tickets/{id}/messages

BAD_MESSAGES: dict[str, tuple[JSON, int]] = {
    "no body": ({"body": DROP}, 422),
    "empty body": ({"body": ""}, 422),
    "null body": ({"body": None}, 422),
    "numeric body": ({"body": 42}, 422),
    "long body": ({"body": "b" * 100_001}, 422),
    "NUL in body": ({"body": NUL}, 422),
    "unknown visibility": ({"visibility": "secret"}, 422),
    "null visibility": ({"visibility": None}, 422),
    "unknown channel": ({"channel": "pigeon"}, 422),
    "author given": ({"author_id": 1}, 422),
    "created_at given": ({"created_at": "2020-01-01T00:00:00Z"}, 422),
}


@cases(BAD_MESSAGES)
async def test_malformed_messages_are_refused_and_post_nothing(
    client: AsyncClient, world: World, overrides: JSON, status: int
) -> None:
    body = merged({"body": "Hello", "visibility": "public"}, overrides)

    response = await client.post(
        ticket_url(world.ticket["id"], "/messages"),
        json=body,
        headers={**world.agent.headers, "Idempotency-Key": "input"},
    )

    assert_refused(response, status)
    await world.assert_unchanged()


# Path ids

ENDPOINTS = [
    ("GET", ""),
    ("PATCH", ""),
    ("POST", "/assign"),
    ("POST", "/status"),
    ("POST", "/messages"),
    ("GET", "/messages"),
    ("GET", "/events"),
]
VALID_BODIES: dict[str, JSON] = {
    "": {"subject": "x"},
    "/assign": {"owner_id": None, "reason": "manual"},
    "/status": {"status": "resolved"},
    "/messages": {"body": "x"},
}


@pytest.mark.parametrize("ticket_id", ["0", "-1", "abc", str(BIG), "1.5", "1e3", "%00"])
@pytest.mark.parametrize(("method", "tail"), ENDPOINTS)
async def test_an_impossible_ticket_id_is_422_on_every_endpoint(
    client: AsyncClient, world: World, ticket_id: str, method: str, tail: str
) -> None:
    body = VALID_BODIES.get(tail) if method != "GET" else None

    response = await client.request(
        method, f"{API}/tickets/{ticket_id}{tail}", json=body, headers=world.agent.headers
    )

    assert_refused(response, 422)
    await world.assert_unchanged()


@pytest.mark.parametrize(("method", "tail"), ENDPOINTS)
async def test_a_ticket_that_does_not_exist_is_404_on_every_endpoint(
    client: AsyncClient, world: World, method: str, tail: str
) -> None:
    body = VALID_BODIES.get(tail) if method != "GET" else None

    response = await client.request(
        method, ticket_url(BIG - 1, tail), json=body, headers=world.agent.headers
    )

    assert_refused(response, 404)
    await world.assert_unchanged()


# Headers


BAD_HEADERS = [
    *(
        (method, tail, "If-Match", "x" * 201)
        for method, tail in ENDPOINTS
        if tail in ("", "/assign", "/status") and method != "GET"
    ),
    ("POST", "/messages", "Idempotency-Key", "k" * 256),
    ("POST", "/messages", "Idempotency-Key", "has spaces"),
    ("POST", "/messages", "Idempotency-Key", "caf\xe9"),
]


@pytest.mark.parametrize(("method", "tail", "header", "value"), BAD_HEADERS)
async def test_oversized_or_malformed_precondition_and_key_headers_are_refused(
    client: AsyncClient, world: World, method: str, tail: str, header: str, value: str
) -> None:
    response = await client.request(
        method,
        ticket_url(world.ticket["id"], tail),
        json=VALID_BODIES[tail],
        headers={**world.agent.headers, header: value.encode("latin-1")},
    )

    assert_refused(response, 422)
    await world.assert_unchanged()


async def test_an_oversized_if_none_match_is_422(client: AsyncClient, world: World) -> None:
    response = await client.get(
        ticket_url(world.ticket["id"]), headers={**world.agent.headers, "If-None-Match": "x" * 201}
    )

    assert_refused(response, 422)


# GET /tickets query strings

BAD_QUERIES: dict[str, tuple[JSON, int]] = {
    "limit zero": ({"limit": 0}, 422),
    "limit too big": ({"limit": 201}, 422),
    "negative limit": ({"limit": -5}, 422),
    "limit not a number": ({"limit": "ten"}, 422),
    "garbage cursor": ({"cursor": "!!!not-base64!!!"}, 400),
    "base64 of garbage": ({"cursor": "aGVsbG8"}, 400),
    "cursor of another list": ({"cursor": encode_cursor({"id": 1})}, 400),
    "cursor with a bad time": ({"cursor": encode_cursor({"u": "yesterday", "i": 1})}, 400),
    "cursor with a bad id": (
        {"cursor": encode_cursor({"u": "2020-01-01T00:00:00Z", "i": "x"})},
        400,
    ),
    "cursor id past bigint": (
        {"cursor": encode_cursor({"u": "2020-01-01T00:00:00+00:00", "i": 10**30})},
        400,
    ),
    "cursor time out of range": (
        {"cursor": encode_cursor({"u": "9999-12-31T23:59:59-01:00", "i": 1})},
        400,
    ),
    "cursor too long": ({"cursor": "a" * 513}, 422),
    "unknown status": ({"status": "bogus"}, 422),
    "too many statuses": ({"status": ["new"] * 6}, 422),
    "unknown priority": ({"priority": "urgent"}, 422),
    "owner not a number": ({"owner_id": "me"}, 422),
    "owner zero": ({"owner_id": 0}, 422),
    "owner past bigint": ({"owner_id": BIG}, 422),
    "team past bigint": ({"team_id": BIG}, 422),
    "requester negative": ({"requester_id": -1}, 422),
    "empty category": ({"category": ""}, 422),
    "long category": ({"category": "c" * 201}, 422),
    "NUL in category": ({"category": NUL}, 422),
    "NUL in tag": ({"tag": NUL}, 422),
    "unknown channel": ({"channel": "fax"}, 422),
    "empty search": ({"q": ""}, 422),
    "long search": ({"q": "q" * 201}, 422),
    "NUL in search": ({"q": NUL}, 422),
    "updated_since not a time": ({"updated_since": "yesterday"}, 422),
    "updated_since without a zone": ({"updated_since": "2024-01-01T00:00:00"}, 422),
    "updated_since out of range": ({"updated_since": "9999-12-31T23:59:59-01:00"}, 400),
}


@cases(BAD_QUERIES)
async def test_malformed_list_queries_are_refused(
    client: AsyncClient, actors: Actors, overrides: JSON, status: int
) -> None:
    agent = await actors.agent()

    response = await client.get(f"{API}/tickets", params=overrides, headers=agent.headers)

    assert_refused(response, status)


@pytest.mark.parametrize("tail", ["/messages", "/events"])
@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"limit": 0}, 422),
        ({"limit": 201}, 422),
        ({"cursor": "garbage!"}, 400),
        ({"cursor": encode_cursor({"id": -1})}, 400),
        ({"cursor": encode_cursor({"id": "1"})}, 400),
        ({"cursor": encode_cursor({"id": True})}, 400),
        ({"cursor": encode_cursor({"id": 10**30})}, 400),
        ({"cursor": encode_cursor({"u": "2020-01-01T00:00:00Z", "i": 1})}, 400),
    ],
)
async def test_malformed_timeline_and_conversation_pages_are_refused(
    client: AsyncClient, world: World, tail: str, params: JSON, status: int
) -> None:
    response = await client.get(
        ticket_url(world.ticket["id"], tail), params=params, headers=world.agent.headers
    )

    assert_refused(response, status)


# Hostile but valid text: kept exactly

EXACT_TEXTS = [
    "<script>{{7*7}}</script>",
    "{{ config.items() }} ${7*7} #{7*7} <%= 7*7 %>",
    "<img src=x onerror=alert(1)>&lt;b&gt;&amp;",
    "'; DROP TABLE tickets; --",
    "  leading and trailing spaces  \n\n",
    "windows\r\nline\rbreaks\n",
    "tabs\tand\u00a0non-breaking\u2028separators",
    "emoji 🎉, combining é, RTL \u202eevil\u202c, zero\u200bwidth",
    "\\u0000 is not a NUL, and neither is \\x00",
    "%s %d %n {0} {}",
]


@pytest.mark.parametrize("text", EXACT_TEXTS)
async def test_a_message_body_comes_back_exactly_as_given(
    client: AsyncClient, actors: Actors, text: str
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await file_ticket(client, customer)

    posted = await reply(client, customer, ticket["id"], text)

    assert posted["body"] == text
    assert [m["body"] for m in await messages(client, customer, ticket["id"])] == [text]
    assert [m["body"] for m in await messages(client, agent, ticket["id"])] == [text]


@pytest.mark.parametrize("text", EXACT_TEXTS)
async def test_a_description_comes_back_exactly_as_given(
    client: AsyncClient, actors: Actors, text: str
) -> None:
    customer = await actors.customer()

    ticket = await file_ticket(client, customer, description=text)

    assert ticket["description"] == text
    assert (await get_ticket(client, customer, ticket["id"]))["description"] == text


async def test_the_template_probe_is_returned_byte_for_byte(
    client: AsyncClient, actors: Actors
) -> None:
    customer = await actors.customer()
    ticket = await file_ticket(client, customer, description="<script>{{7*7}}</script>")
    await reply(client, customer, ticket["id"], "<script>{{7*7}}</script>")

    read = await client.get(ticket_url(ticket["id"]), headers=customer.headers)
    listed = await client.get(ticket_url(ticket["id"], "/messages"), headers=customer.headers)

    for raw in (read.content, listed.content):
        assert b"<script>{{7*7}}</script>" in raw
        # Rendered as a template, the probe would read "<script>49</script>".
        assert b"<script>49</script>" not in raw
        assert b"&lt;" not in raw
    assert read.json()["description"] == "<script>{{7*7}}</script>"
    assert [m["body"] for m in listed.json()["items"]] == ["<script>{{7*7}}</script>"]


async def test_hostile_text_in_a_subject_is_searchable_and_harmless(
    client: AsyncClient, actors: Actors
) -> None:
    agent = await actors.agent()
    ticket = await file_ticket(client, agent, subject="<b>Bold</b> ' OR 1=1 -- printer")

    assert await listed_ids(client, agent, q="printer") == [ticket["id"]]
    assert (await get_ticket(client, agent, ticket["id"]))["subject"] == (
        "<b>Bold</b> ' OR 1=1 -- printer"
    )
