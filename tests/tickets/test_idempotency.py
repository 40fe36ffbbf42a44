"""Idempotency-Key on POST /tickets and POST /tickets/{id}/messages: a retry returns the
first response and creates nothing; another body is 422; a duplicate in flight is 409."""

from __future__ import annotations

import asyncio

from httpx import AsyncClient, Response
from sqlalchemy import select

from app.models import IdempotencyRecord
from tests.factories import Actor, Actors, assert_problem
from tests.tickets.helpers import (
    JSON,
    Maker,
    count_events,
    count_idempotency_records,
    count_messages,
    count_tickets,
    create,
    file_ticket,
    move_ok,
    post_message,
    warm_up,
)

BODY: JSON = {"subject": "Printer on fire", "description": "Smoke everywhere."}


async def create_with_key(
    client: AsyncClient, actor: Actor, key: str, body: JSON | None = None
) -> Response:
    return await create(client, actor, body or BODY, **{"Idempotency-Key": key})


def assert_replay_of(first: Response, replay: Response) -> None:
    assert replay.status_code == first.status_code
    assert replay.json() == first.json()
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.headers["Location"] == first.headers["Location"]


# POST /tickets


async def test_a_retried_ticket_returns_the_first_response_and_creates_nothing(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    customer = await actors.customer()
    first = await create_with_key(client, customer, "file-1")
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers

    replay = await create_with_key(client, customer, "file-1")

    assert_replay_of(first, replay)
    assert replay.headers["ETag"] == first.headers["ETag"]
    assert await count_tickets(sessionmaker) == 1
    assert await count_events(sessionmaker) == 1


async def test_a_replay_is_the_first_response_even_after_the_ticket_changed(
    client: AsyncClient, actors: Actors
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    first = await create_with_key(client, customer, "file-1")
    await move_ok(client, agent, first.json()["id"], "open")

    replay = await create_with_key(client, customer, "file-1")

    assert_replay_of(first, replay)
    assert replay.json()["status"] == "new"


async def test_the_same_key_with_another_body_is_422_and_creates_nothing(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    customer = await actors.customer()
    await create_with_key(client, customer, "file-1")

    response = await create_with_key(
        client, customer, "file-1", {**BODY, "subject": "Something else"}
    )

    assert_problem(response, 422)
    assert await count_tickets(sessionmaker) == 1


async def test_the_same_json_with_keys_in_another_order_is_the_same_request(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    customer = await actors.customer()
    first = await create_with_key(client, customer, "file-1")

    reordered = {"description": BODY["description"], "subject": BODY["subject"]}
    replay = await create_with_key(client, customer, "file-1", reordered)

    assert_replay_of(first, replay)
    assert await count_tickets(sessionmaker) == 1


async def test_keys_belong_to_their_user(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    one, two = await actors.customer(), await actors.customer()

    first = await create_with_key(client, one, "shared-key")
    second = await create_with_key(client, two, "shared-key")

    assert (first.status_code, second.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in second.headers
    assert first.json()["id"] != second.json()["id"]
    assert second.json()["requester"]["id"] == two.id
    assert await count_tickets(sessionmaker) == 2


async def test_without_a_key_every_post_creates(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    customer = await actors.customer()

    await create(client, customer, BODY)
    await create(client, customer, BODY)

    assert await count_tickets(sessionmaker) == 2


async def test_different_keys_create_different_tickets(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    customer = await actors.customer()

    first = await create_with_key(client, customer, "a")
    second = await create_with_key(client, customer, "b")

    assert first.json()["id"] != second.json()["id"]
    assert await count_tickets(sessionmaker) == 2


async def test_a_refused_request_does_not_use_up_its_key(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    agent = await actors.agent()
    refused = await create_with_key(client, agent, "k", {**BODY, "requester_id": 999_999})
    assert_problem(refused, 422)
    assert await count_idempotency_records(sessionmaker) == 0

    customer = await actors.customer()
    accepted = await create_with_key(client, agent, "k", {**BODY, "requester_id": customer.id})

    assert accepted.status_code == 201, accepted.text
    assert "Idempotent-Replayed" not in accepted.headers


async def test_a_conflict_is_not_stored_as_the_answer(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    integration, customer = await actors.integration(), await actors.customer()
    body = {**BODY, "requester_id": customer.id, "external_ref": "EXT-1"}
    await file_ticket(client, integration, **body)

    first = await create_with_key(client, integration, "k", body)
    second = await create_with_key(client, integration, "k", body)

    assert_problem(first, 409)
    assert_problem(second, 409)
    assert "Idempotent-Replayed" not in second.headers
    assert await count_tickets(sessionmaker) == 1


async def test_fifty_identical_requests_at_once_create_exactly_one_ticket(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    customer = await actors.customer()
    await warm_up(client, customer)

    responses = await asyncio.gather(
        *(create_with_key(client, customer, "burst") for _ in range(50))
    )

    assert await count_tickets(sessionmaker) == 1
    assert await count_events(sessionmaker) == 1
    created = [r for r in responses if r.status_code == 201]
    assert created, [r.text for r in responses]
    originals = [r for r in created if "Idempotent-Replayed" not in r.headers]
    assert len(originals) == 1
    for response in responses:
        if response.status_code == 201:
            assert response.json() == originals[0].json()
        else:
            assert_problem(response, 409)
            assert response.headers["Retry-After"]


async def test_a_duplicate_after_the_burst_is_a_replay(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    customer = await actors.customer()
    await warm_up(client, customer)
    responses = await asyncio.gather(*(create_with_key(client, customer, "k") for _ in range(10)))
    [original] = [
        r for r in responses if r.status_code == 201 and "Idempotent-Replayed" not in r.headers
    ]

    later = await create_with_key(client, customer, "k")

    assert_replay_of(original, later)
    assert await count_tickets(sessionmaker) == 1


# POST /tickets/{id}/messages


async def test_a_retried_message_returns_the_first_response_and_posts_nothing(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    customer = await actors.customer()
    ticket = await file_ticket(client, customer)
    events_before = await count_events(sessionmaker)
    first = await post_message(client, customer, ticket["id"], "Hi", **{"Idempotency-Key": "m1"})
    assert first.status_code == 201, first.text

    replay = await post_message(client, customer, ticket["id"], "Hi", **{"Idempotency-Key": "m1"})

    assert_replay_of(first, replay)
    assert await count_messages(sessionmaker) == 1
    assert await count_events(sessionmaker) == events_before + 1


async def test_the_same_message_key_with_another_body_is_422(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    customer = await actors.customer()
    ticket = await file_ticket(client, customer)
    await post_message(client, customer, ticket["id"], "Hi", **{"Idempotency-Key": "m1"})

    response = await post_message(
        client, customer, ticket["id"], "Bye", **{"Idempotency-Key": "m1"}
    )

    assert_problem(response, 422)
    assert await count_messages(sessionmaker) == 1


async def test_a_message_key_reused_on_another_ticket_is_422(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    customer = await actors.customer()
    one, two = await file_ticket(client, customer), await file_ticket(client, customer)
    await post_message(client, customer, one["id"], "Hi", **{"Idempotency-Key": "m1"})

    response = await post_message(client, customer, two["id"], "Hi", **{"Idempotency-Key": "m1"})

    assert_problem(response, 422)
    assert await count_messages(sessionmaker) == 1


async def test_a_ticket_key_reused_for_a_message_is_422(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    customer = await actors.customer()
    ticket = (await create_with_key(client, customer, "k")).json()

    response = await post_message(client, customer, ticket["id"], "Hi", **{"Idempotency-Key": "k"})

    assert_problem(response, 422)
    assert await count_messages(sessionmaker) == 0


async def test_concurrent_identical_messages_post_exactly_one(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    customer = await actors.customer()
    ticket = await file_ticket(client, customer)
    await warm_up(client, customer)

    responses = await asyncio.gather(
        *(
            post_message(client, customer, ticket["id"], "Hello?", **{"Idempotency-Key": "m"})
            for _ in range(20)
        )
    )

    assert await count_messages(sessionmaker) == 1
    bodies = {r.json()["id"] for r in responses if r.status_code == 201}
    assert len(bodies) == 1
    assert all(r.status_code in (201, 409) for r in responses), [r.text for r in responses]


# The key itself


async def test_a_key_of_255_characters_is_accepted_and_256_is_422(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    customer = await actors.customer()

    accepted = await create_with_key(client, customer, "k" * 255)
    refused = await create_with_key(client, customer, "k" * 256)

    assert accepted.status_code == 201, accepted.text
    assert_problem(refused, 422)
    assert await count_tickets(sessionmaker) == 1


async def test_an_empty_key_is_422(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    customer = await actors.customer()

    assert_problem(await create_with_key(client, customer, ""), 422)

    assert await count_tickets(sessionmaker) == 0


async def test_the_key_is_never_stored_in_clear(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    customer = await actors.customer()
    await create_with_key(client, customer, "very-recognisable-key")

    async with sessionmaker() as session:
        record = await session.scalar(select(IdempotencyRecord))
    assert record is not None
    assert b"very-recognisable-key" not in record.key_hash
    assert b"Printer on fire" not in record.response
