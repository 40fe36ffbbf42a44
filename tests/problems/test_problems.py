"""One problem, many customers: incidents linked to a problem, one update to each
requester, and the problem's resolution resolving what still waits on it."""

from __future__ import annotations

from httpx import AsyncClient, Response

from tests.factories import Actor, Actors, assert_problem
from tests.feedback.conftest import Mailbox, text_of
from tests.merging.helpers import expect, linked, merge_ok
from tests.tickets.helpers import (
    JSON,
    bring_to,
    etag_of,
    events,
    file_ticket,
    get_ticket,
    messages,
    move_ok,
    ticket_url,
)


async def link(
    client: AsyncClient, actor: Actor, ticket_id: int, problem_id: int, if_match: str | None = None
) -> Response:
    headers = dict(actor.headers)
    if if_match is not None:
        headers["If-Match"] = if_match
    return await client.post(
        ticket_url(ticket_id, "/link"), json={"problem_id": problem_id}, headers=headers
    )


async def link_ok(client: AsyncClient, actor: Actor, ticket_id: int, problem_id: int) -> JSON:
    ticket: JSON = expect(await link(client, actor, ticket_id, problem_id), 200)
    return ticket


async def test_a_problem_shows_its_incidents_and_their_count(
    client: AsyncClient, actors: Actors
) -> None:
    agent = await actors.agent()
    customers = [await actors.customer() for _ in range(3)]
    problem = await file_ticket(client, agent, subject="Mail server down")
    incidents = [await file_ticket(client, c, subject="No mail") for c in customers]
    for incident in incidents:
        linked_one = await link_ok(client, agent, incident["id"], problem["id"])
        assert linked_one["problem_id"] == problem["id"]
    again = await link_ok(client, agent, incidents[0]["id"], problem["id"])  # no-op
    assert again["version"] == (await get_ticket(client, agent, incidents[0]["id"]))["version"]

    page = await linked(client, agent, problem["id"], relation="incident", limit=2)
    assert page["counts"]["incident"] == 3
    first = [i["ticket"]["id"] for i in page["items"]]
    rest = await linked(
        client, agent, problem["id"], relation="incident", cursor=page["next_cursor"]
    )
    assert first + [i["ticket"]["id"] for i in rest["items"]] == [i["id"] for i in incidents]
    assert rest["next_cursor"] is None
    [up] = (await linked(client, agent, incidents[1]["id"]))["items"]
    assert (up["relation"], up["ticket"]["id"]) == ("problem", problem["id"])

    kinds = [e["kind"] for e in await events(client, agent, problem["id"])]
    assert kinds.count("ticket.linked") == 3
    # How staff organise their work is theirs: the customer sees no link event.
    assert "ticket.linked" not in [
        e["kind"] for e in await events(client, customers[0], incidents[0]["id"])
    ]

    unlinked = expect(
        await client.delete(ticket_url(incidents[2]["id"], "/link"), headers=agent.headers), 200
    )
    assert unlinked["problem_id"] is None
    assert (await linked(client, agent, problem["id"]))["counts"]["incident"] == 2
    assert "ticket.unlinked" in [e["kind"] for e in await events(client, agent, problem["id"])]


async def test_one_update_reaches_every_requester_once_on_their_own_ticket(
    client: AsyncClient, actors: Actors, mailbox: Mailbox
) -> None:
    agent, ada, bob = await actors.agent(), await actors.customer(), await actors.customer()
    problem = await file_ticket(client, ada, subject="Mail server down")
    adas_other = await file_ticket(client, ada, subject="Still no mail")
    bobs = [await file_ticket(client, bob, subject=s) for s in ("No mail", "No mail, again")]
    for incident in (adas_other, *bobs):
        await link_ok(client, agent, incident["id"], problem["id"])
    await mailbox.deliver()
    before = {c.email: len(mailbox.to(c.email)) for c in (ada, bob)}

    update = "We found the cause and are restoring service."
    posted = expect(
        await client.post(
            ticket_url(problem["id"], "/linked/messages"),
            json={"body": update},
            headers=agent.headers,
        ),
        201,
    )
    # Ada hears it on the problem (hers); Bob once, on the ticket he used last.
    assert [(p["ticket_id"], p["requester_id"]) for p in posted["incidents"]] == [
        (bobs[1]["id"], bob.id)
    ]
    assert [m["body"] for m in await messages(client, bob, bobs[1]["id"])] == [update]
    assert await messages(client, bob, bobs[0]["id"]) == []
    await mailbox.deliver()
    for customer in (ada, bob):
        news = [
            m for m in mailbox.to(customer.email)[before[customer.email] :] if update in text_of(m)
        ]
        assert len(news) == 1
    assert_problem(
        await client.post(
            ticket_url(bobs[0]["id"], "/linked/messages"), json={"body": "x"}, headers=agent.headers
        ),
        409,
    )


async def test_resolving_the_problem_resolves_what_still_waits_on_it(
    client: AsyncClient, actors: Actors, mailbox: Mailbox
) -> None:
    agent = await actors.agent()
    customers = [await actors.customer() for _ in range(3)]
    problem = await file_ticket(client, agent, subject="Printer fleet offline")
    waiting = await file_ticket(client, customers[0])
    pending = await file_ticket(client, customers[1])
    done = await file_ticket(client, customers[2])
    for incident in (waiting, pending, done):
        await link_ok(client, agent, incident["id"], problem["id"])
    await bring_to(client, agent, pending["id"], "pending")
    await bring_to(client, agent, done["id"], "resolved")
    await mailbox.deliver()
    before = {c.email: len(mailbox.to(c.email)) for c in customers}

    await move_ok(client, agent, problem["id"], "resolved")

    assert (await get_ticket(client, agent, waiting["id"]))["status"] == "resolved"
    assert (await get_ticket(client, agent, pending["id"]))["status"] == "resolved"
    resolved_again = [
        e for e in await events(client, agent, done["id"]) if e["kind"] == "ticket.status_changed"
    ]
    assert len(resolved_again) == 2  # open, resolved: nothing more
    [change] = [
        e
        for e in await events(client, agent, waiting["id"])
        if e["kind"] == "ticket.status_changed"
    ]
    assert change["actor"]["id"] == agent.id

    await mailbox.deliver()
    for customer, told in zip(customers, (1, 1, 0), strict=True):
        news = mailbox.to(customer.email)[before[customer.email] :]
        assert len(news) == told, [text_of(m) for m in news]
        if told:
            assert "has been resolved" in text_of(news[0])


async def test_what_cannot_be_linked(client: AsyncClient, actors: Actors) -> None:
    agent, customer = await actors.agent(), await actors.customer()
    problem, other_problem = await file_ticket(client, agent), await file_ticket(client, agent)
    incident, duplicate = await file_ticket(client, customer), await file_ticket(client, customer)
    assert_problem(await link(client, agent, incident["id"], incident["id"]), 422)
    assert_problem(await link(client, agent, incident["id"], 10**12), 404)
    stale = await get_ticket(client, agent, incident["id"])
    await link_ok(client, agent, incident["id"], problem["id"])
    assert_problem(await link(client, agent, incident["id"], other_problem["id"]), 409)
    assert_problem(await link(client, agent, problem["id"], other_problem["id"]), 409)
    assert_problem(await link(client, agent, other_problem["id"], incident["id"]), 409)
    assert_problem(
        await client.delete(
            ticket_url(incident["id"], "/link"),
            headers={**agent.headers, "If-Match": etag_of(stale)},
        ),
        412,
    )
    await merge_ok(client, agent, duplicate["id"], incident["id"])
    assert_problem(await link(client, agent, duplicate["id"], problem["id"]), 409)
    assert_problem(await merge_ok_response(client, agent, problem["id"], other_problem["id"]), 409)


async def merge_ok_response(
    client: AsyncClient, actor: Actor, ticket_id: int, into_id: int
) -> Response:
    return await client.post(
        ticket_url(ticket_id, "/merge"), json={"into_id": into_id}, headers=actor.headers
    )


async def test_a_customer_probing_tickets_through_every_new_endpoint_learns_nothing(
    client: AsyncClient, actors: Actors
) -> None:
    ada, bob, agent = await actors.customer(), await actors.customer(), await actors.agent()
    problem = await file_ticket(client, agent)
    adas = await file_ticket(client, ada)
    bobs = await file_ticket(client, bob)
    await link_ok(client, agent, bobs["id"], problem["id"])
    await link_ok(client, agent, adas["id"], problem["id"])

    # Reads: another customer's ticket and a ticket that does not exist look the same.
    for ticket_id in (bobs["id"], problem["id"], 10**12):
        for tail in ("/linked", "/events", "/messages", ""):
            body = assert_problem(
                await client.get(ticket_url(ticket_id, tail), headers=ada.headers), 404
            )
            assert str(bobs["subject"]) not in body["detail"]
    # Her own incident shows no link to the problem (staff's) nor to Bob's ticket.
    mine = await linked(client, ada, adas["id"])
    assert mine["items"] == []
    assert set(mine["counts"].values()) == {0}
    # Writes are for staff: the same 403 whatever the ticket, hers, his, or none.
    writes = [
        ("POST", "/link", {"problem_id": problem["id"]}),
        ("DELETE", "/link", None),
        ("POST", "/merge", {"into_id": adas["id"]}),
        ("POST", "/linked/messages", {"body": "hello"}),
    ]
    for method, tail, body in writes:
        details = set()
        for ticket_id in (adas["id"], bobs["id"], 10**12):
            response = await client.request(
                method, ticket_url(ticket_id, tail), json=body, headers=ada.headers
            )
            details.add(assert_problem(response, 403)["detail"])
        assert len(details) == 1
    bulk = await client.post(
        "/api/v1/tickets/bulk",
        json={"ids": [bobs["id"]], "tags": {"add": ["x"]}},
        headers=ada.headers,
    )
    assert_problem(bulk, 403)
    assert (await get_ticket(client, agent, bobs["id"]))["tags"] == []
