"""Bulk changes: one change to many tickets, each checked and recorded as if alone."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient, Response

from tests.factories import Actor, Actors, assert_problem
from tests.merging.helpers import expect
from tests.tickets.helpers import (
    API,
    Maker,
    bring_to,
    events,
    file_ticket,
    get_ticket,
    reply,
    snapshot,
)

BULK = f"{API}/tickets/bulk"


async def bulk(client: AsyncClient, actor: Actor, **body: Any) -> Response:
    return await client.post(BULK, json=body, headers=actor.headers)


async def test_a_status_change_for_many_with_one_stale_and_one_not_allowed(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    agent, customer = await actors.agent(), await actors.customer()
    fine = [await file_ticket(client, customer) for _ in range(3)]
    stale = await file_ticket(client, customer)
    stale_version = stale["version"]
    await reply(client, agent, stale["id"], "Changed since you read it.")
    closed = await file_ticket(client, customer)
    await bring_to(client, agent, closed["id"], "closed")
    untouched = {t["id"]: await snapshot(sessionmaker, t["id"]) for t in (stale, closed)}
    ids = [fine[0]["id"], stale["id"], fine[1]["id"], closed["id"], 10**12, fine[2]["id"]]

    answer = expect(
        await bulk(
            client,
            agent,
            ids=ids,
            versions={str(stale["id"]): stale_version, str(fine[0]["id"]): fine[0]["version"]},
            status={"status": "pending", "note": "Which model is it?"},
        ),
        200,
    )
    results = answer["results"]
    assert [r["id"] for r in results] == ids
    assert [r["status"] for r in results] == [200, 412, 200, 409, 404, 200]
    for result in results:
        if result["status"] == 200:
            assert result["ticket"]["status"] == "pending"
            assert "problem" not in result or result["problem"] is None
        else:
            assert result["ticket"] is None
            assert result["problem"]["status"] == result["status"]
            assert result["problem"]["type"].startswith("urn:helpdesk:problem:")
    assert results[1]["problem"]["extra"]["current_version"] > stale_version
    for ticket in fine:
        changes = [
            e
            for e in await events(client, agent, ticket["id"])
            if e["kind"] == "ticket.status_changed"
        ]
        assert [(e["data"]["to"], e["data"]["note"]) for e in changes][-1] == (
            "pending",
            "Which model is it?",
        )
    for ticket_id, before in untouched.items():
        assert await snapshot(sessionmaker, ticket_id) == before


async def test_assign_and_retag_many(client: AsyncClient, actors: Actors) -> None:
    agent, owner, customer = await actors.agent(), await actors.agent(), await actors.customer()
    tickets = [
        await file_ticket(client, agent, for_customer=customer, tags=["printer", "floor-2"])
        for _ in range(2)
    ]
    ids = [t["id"] for t in tickets]

    assigned = expect(
        await bulk(client, agent, ids=ids, assign={"owner_id": owner.id, "reason": "rebalancing"}),
        200,
    )
    assert [r["ticket"]["owner"]["id"] for r in assigned["results"]] == [owner.id, owner.id]
    tagged = expect(
        await bulk(
            client, agent, ids=ids, tags={"add": ["Outage", "printer"], "remove": ["floor-2"]}
        ),
        200,
    )
    assert [r["ticket"]["tags"] for r in tagged["results"]] == [["printer", "outage"]] * 2
    for ticket in tickets:
        kinds = [e["kind"] for e in await events(client, agent, ticket["id"])]
        assert kinds.count("ticket.owner_changed") == 1
        assert kinds.count("ticket.updated") == 1
    bad_owner = expect(
        await bulk(
            client, agent, ids=ids[:1], assign={"owner_id": customer.id, "reason": "manual"}
        ),
        200,
    )
    assert bad_owner["results"][0]["status"] == 422
    assert (await get_ticket(client, agent, ids[0]))["owner"]["id"] == owner.id


async def test_bad_bulk_requests_are_refused_whole(client: AsyncClient, actors: Actors) -> None:
    agent, customer = await actors.agent(), await actors.customer()
    ticket = await file_ticket(client, customer)
    change = {"status": {"status": "open"}}
    bad = [
        {"ids": [], **change},
        {"ids": list(range(1, 102)), **change},
        {"ids": [ticket["id"], ticket["id"]], **change},
        {"ids": [ticket["id"]]},
        {"ids": [ticket["id"]], **change, "tags": {"add": ["x"]}},
        {"ids": [ticket["id"]], "tags": {}},
        {"ids": [ticket["id"]], "versions": {"999": 1}, **change},
        {"ids": [ticket["id"]], "versions": {"x": 1}, **change},
        {"ids": [True], **change},
    ]
    for body in bad:
        assert_problem(await client.post(BULK, json=body, headers=agent.headers), 422)
    assert (await get_ticket(client, agent, ticket["id"]))["status"] == "new"
    more = [await file_ticket(client, customer) for _ in range(3)]
    ok = expect(await bulk(client, agent, ids=[t["id"] for t in more], **change), 200)
    assert {r["status"] for r in ok["results"]} == {200}


async def test_bulk_is_a_path_of_its_own_not_a_ticket_id(
    client: AsyncClient, actors: Actors
) -> None:
    agent = await actors.agent()
    for method in ("GET", "PATCH", "DELETE"):
        response = await client.request(method, BULK, json={}, headers=agent.headers)
        assert_problem(response, 405)
        assert response.headers["Allow"] == "POST"
