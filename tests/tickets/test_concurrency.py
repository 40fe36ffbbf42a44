"""Optimistic concurrency: the version is the strong ETag; If-Match on PATCH, /assign and
/status turns a stale write into a 412 that changes nothing; racing writers serialize."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from httpx import AsyncClient, Response

from tests.factories import Actor, Actors, assert_problem
from tests.tickets.helpers import (
    JSON,
    Maker,
    assign,
    bring_to,
    count_events,
    etag_of,
    events,
    file_ticket,
    get_ticket,
    move,
    patch,
    post_message,
    snapshot,
    ticket_url,
    warm_up,
)

Write = Callable[[AsyncClient, Actor, int, str | None], Awaitable[Response]]


async def _patch(client: AsyncClient, actor: Actor, ticket_id: int, tag: str | None) -> Response:
    return await patch(client, actor, ticket_id, if_match=tag, subject=f"By {actor.name}")


async def _assign(client: AsyncClient, actor: Actor, ticket_id: int, tag: str | None) -> Response:
    return await assign(client, actor, ticket_id, actor.id, if_match=tag)


async def _status(client: AsyncClient, actor: Actor, ticket_id: int, tag: str | None) -> Response:
    return await move(client, actor, ticket_id, "pending", if_match=tag)


WRITES: dict[str, Write] = {"patch": _patch, "assign": _assign, "status": _status}


async def open_ticket(client: AsyncClient, agent: Actor) -> JSON:
    ticket = await file_ticket(client, agent)
    return await bring_to(client, agent, ticket["id"], "open")


# ETag on reads


async def test_if_none_match_with_the_current_etag_is_304(
    client: AsyncClient, actors: Actors
) -> None:
    agent = await actors.agent()
    ticket = await file_ticket(client, agent)

    response = await client.get(
        ticket_url(ticket["id"]), headers={**agent.headers, "If-None-Match": '"1"'}
    )

    assert response.status_code == 304
    assert response.headers["ETag"] == '"1"'
    assert response.content == b""


async def test_if_none_match_with_an_old_etag_returns_the_ticket(
    client: AsyncClient, actors: Actors
) -> None:
    agent = await actors.agent()
    ticket = await file_ticket(client, agent)
    await patch(client, agent, ticket["id"], subject="Two")

    response = await client.get(
        ticket_url(ticket["id"]), headers={**agent.headers, "If-None-Match": '"1"'}
    )

    assert response.status_code == 200
    assert response.headers["ETag"] == '"2"'


# If-Match


@pytest.mark.parametrize("write", list(WRITES))
async def test_a_stale_if_match_is_412_and_changes_nothing(
    client: AsyncClient, actors: Actors, sessionmaker: Maker, write: str
) -> None:
    agent = await actors.agent()
    ticket = await open_ticket(client, agent)
    stale = f'"{ticket["version"] - 1}"'
    before = await snapshot(sessionmaker, ticket["id"])

    response = await WRITES[write](client, agent, ticket["id"], stale)

    problem = assert_problem(response, 412)
    assert problem["current_version"] == ticket["version"]
    assert await snapshot(sessionmaker, ticket["id"]) == before


@pytest.mark.parametrize("write", list(WRITES))
async def test_the_current_etag_lets_the_write_through_and_returns_the_next(
    client: AsyncClient, actors: Actors, write: str
) -> None:
    agent = await actors.agent()
    ticket = await open_ticket(client, agent)
    ticket_id = ticket["id"]

    response = await WRITES[write](client, agent, ticket_id, etag_of(ticket))

    assert response.status_code == 200, response.text
    assert response.json()["version"] == ticket["version"] + 1
    assert response.headers["ETag"] == etag_of(response.json())
    assert response.headers["ETag"] == etag_of(await get_ticket(client, agent, ticket_id))


async def test_if_match_star_matches_any_version(client: AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()
    ticket = await file_ticket(client, agent)

    response = await patch(client, agent, ticket["id"], if_match="*", subject="Any")

    assert response.status_code == 200, response.text


async def test_if_match_accepts_a_list_that_holds_the_current_etag(
    client: AsyncClient, actors: Actors
) -> None:
    agent = await actors.agent()
    ticket = await file_ticket(client, agent)

    response = await patch(client, agent, ticket["id"], if_match='"7", "1"', subject="Listed")

    assert response.status_code == 200, response.text


async def test_a_weak_etag_never_matches_if_match(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    agent = await actors.agent()
    ticket = await file_ticket(client, agent)
    before = await snapshot(sessionmaker, ticket["id"])

    response = await patch(client, agent, ticket["id"], if_match='W/"1"', subject="Weak")

    assert_problem(response, 412)
    assert await snapshot(sessionmaker, ticket["id"]) == before


async def test_an_unquoted_version_is_not_the_etag(client: AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()
    ticket = await file_ticket(client, agent)

    assert_problem(await patch(client, agent, ticket["id"], if_match="1", subject="x"), 412)


async def test_a_stale_if_match_fails_even_when_the_write_would_change_nothing(
    client: AsyncClient, actors: Actors
) -> None:
    agent = await actors.agent()
    ticket = await file_ticket(client, agent)
    await patch(client, agent, ticket["id"], subject="Two")

    assert_problem(await patch(client, agent, ticket["id"], if_match='"1"'), 412)


async def test_if_match_on_an_unknown_ticket_is_404(client: AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()

    assert_problem(await patch(client, agent, 31_337, if_match='"1"', subject="x"), 404)


async def test_a_message_in_between_makes_an_earlier_etag_stale(
    client: AsyncClient, actors: Actors
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await file_ticket(client, customer)
    read = await get_ticket(client, agent, ticket["id"])

    await post_message(client, customer, ticket["id"], "One more thing")

    assert_problem(
        await patch(client, agent, ticket["id"], if_match=etag_of(read), urgency="high"), 412
    )


# Races


@pytest.mark.parametrize("write", list(WRITES))
async def test_two_agents_racing_with_the_same_etag_one_wins_one_gets_412(
    client: AsyncClient, actors: Actors, sessionmaker: Maker, write: str
) -> None:
    first, second = await actors.agent(), await actors.agent()
    ticket = await open_ticket(client, first)
    ticket_id = ticket["id"]
    events_before = await count_events(sessionmaker, ticket_id)
    await warm_up(client, first, second)

    responses = await asyncio.gather(
        WRITES[write](client, first, ticket_id, etag_of(ticket)),
        WRITES[write](client, second, ticket_id, etag_of(ticket)),
    )

    assert sorted(r.status_code for r in responses) == [200, 412], [r.text for r in responses]
    [winner] = [r.json() for r in responses if r.status_code == 200]
    assert winner["version"] == ticket["version"] + 1
    assert await get_ticket(client, first, ticket_id) == winner
    # The winning change, and for a move to pending the SLA clock's sla.paused.
    assert await count_events(sessionmaker, ticket_id) == events_before + (
        2 if write == "status" else 1
    )


async def test_many_racing_writers_with_one_etag_make_exactly_one_change(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    agents = [await actors.agent() for _ in range(8)]
    ticket = await file_ticket(client, agents[0])
    await warm_up(client, *agents)

    responses = await asyncio.gather(
        *(_patch(client, agent, ticket["id"], etag_of(ticket)) for agent in agents)
    )

    assert sorted(r.status_code for r in responses) == [200] + [412] * 7
    assert (await get_ticket(client, agents[0], ticket["id"]))["version"] == 2


async def test_racing_writes_without_if_match_all_apply_one_version_each(
    client: AsyncClient, actors: Actors
) -> None:
    agent = await actors.agent()
    ticket = await file_ticket(client, agent)
    await warm_up(client, agent)

    responses = await asyncio.gather(
        *(post_message(client, agent, ticket["id"], f"note {n}", "internal") for n in range(10))
    )

    assert {r.status_code for r in responses} == {201}
    assert (await get_ticket(client, agent, ticket["id"]))["version"] == 11
    timeline = await events(client, agent, ticket["id"])
    assert [e["ticket_version"] for e in timeline] == list(range(1, 12))


async def test_racing_status_moves_are_judged_one_after_the_other(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    first, second = await actors.agent(), await actors.agent()
    ticket = await open_ticket(client, first)
    ticket_id = ticket["id"]
    await warm_up(client, first, second)

    responses = await asyncio.gather(
        move(client, first, ticket_id, "resolved"), move(client, second, ticket_id, "resolved")
    )

    assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
    moves = [
        e for e in await events(client, first, ticket_id) if e["kind"] == "ticket.status_changed"
    ]
    assert [m["data"]["to"] for m in moves] == ["open", "resolved"]


async def test_racing_grabs_for_the_same_owner_write_one_handover(
    client: AsyncClient, actors: Actors
) -> None:
    supervisor, agent = await actors.supervisor(), await actors.agent()
    ticket = await file_ticket(client, supervisor)
    await warm_up(client, supervisor, agent)

    responses = await asyncio.gather(
        assign(client, supervisor, ticket["id"], agent.id),
        assign(client, agent, ticket["id"], agent.id),
    )

    assert {r.status_code for r in responses} == {200}
    handovers = [
        e for e in await events(client, agent, ticket["id"]) if e["kind"] == "ticket.owner_changed"
    ]
    assert len(handovers) == 1


# The customer's ETag and updated_at: moved only by what the customer can see.


async def test_hidden_activity_leaves_the_customers_etag_and_updated_at_alone(
    client: AsyncClient, actors: Actors
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await file_ticket(client, customer)
    await post_message(client, agent, ticket["id"], "Public answer")  # new -> open
    before = await client.get(ticket_url(ticket["id"]), headers=customer.headers)
    staff_before = await get_ticket(client, agent, ticket["id"])

    await post_message(client, agent, ticket["id"], "They sound angry", "internal")
    await patch(client, agent, ticket["id"], tags=["angry-customer"])
    await asyncio.sleep(0.01)

    after = await client.get(ticket_url(ticket["id"]), headers=customer.headers)
    assert after.headers["ETag"] == before.headers["ETag"]
    assert after.json()["updated_at"] == before.json()["updated_at"]
    assert after.json()["version"] == before.json()["version"]
    unchanged = await client.get(
        ticket_url(ticket["id"]),
        headers={**customer.headers, "If-None-Match": before.headers["ETag"]},
    )
    assert unchanged.status_code == 304
    # Staff see every change, as before.
    staff_after = await get_ticket(client, agent, ticket["id"])
    assert staff_after["version"] > staff_before["version"]
    assert staff_after["updated_at"] > staff_before["updated_at"]

    # What the customer sees changing moves theirs, and their If-Match works with it.
    await post_message(client, agent, ticket["id"], "Another public answer")
    moved = await client.get(ticket_url(ticket["id"]), headers=customer.headers)
    assert moved.headers["ETag"] != before.headers["ETag"]
    assert moved.json()["updated_at"] > before.json()["updated_at"]
    stale = await move(client, customer, ticket["id"], "resolved", if_match=before.headers["ETag"])
    assert_problem(stale, 412)
    fresh = await move(client, customer, ticket["id"], "resolved", if_match=moved.headers["ETag"])
    assert fresh.status_code == 200, fresh.text
    assert fresh.headers["ETag"] == etag_of(fresh.json())
