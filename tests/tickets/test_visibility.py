"""What a customer or an integration can learn about tickets that are not theirs: nothing.

Every per-ticket endpoint answers a stranger exactly as it answers for a ticket that does
not exist, changes nothing, and no list, filter or search ever shows the ticket.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from httpx import AsyncClient, Response

from app.models import Role
from tests.factories import Actor, Actors, make_team
from tests.tickets.helpers import (
    JSON,
    Maker,
    assign,
    count_idempotency_records,
    events,
    file_ticket,
    listed_ids,
    messages,
    post_message,
    reply,
    snapshot,
    ticket_url,
)

# (method, path after /tickets/{id}, JSON body, extra headers)
PROBES: dict[str, tuple[str, str, JSON | None, dict[str, str]]] = {
    "read": ("GET", "", None, {}),
    "read-if-none-match": ("GET", "", None, {"If-None-Match": '"1"'}),
    "edit": ("PATCH", "", {"subject": "Pwned"}, {}),
    "edit-if-match": ("PATCH", "", {"subject": "Pwned"}, {"If-Match": "*"}),
    "assign": ("POST", "/assign", {"owner_id": None, "reason": "manual"}, {}),
    "resolve": ("POST", "/status", {"status": "resolved"}, {}),
    "reopen": ("POST", "/status", {"status": "open"}, {}),
    "close": ("POST", "/status", {"status": "closed"}, {}),
    "status-if-match": ("POST", "/status", {"status": "resolved"}, {"If-Match": '"1"'}),
    "reply": ("POST", "/messages", {"body": "Hello from a stranger"}, {}),
    "internal-note": ("POST", "/messages", {"body": "x", "visibility": "internal"}, {}),
    "reply-with-key": ("POST", "/messages", {"body": "x"}, {"Idempotency-Key": "probe"}),
    "messages": ("GET", "/messages", None, {}),
    "events": ("GET", "/events", None, {}),
}


async def probe(client: AsyncClient, actor: Actor, ticket_id: int, name: str) -> Response:
    method, tail, body, headers = PROBES[name]
    return await client.request(
        method, ticket_url(ticket_id, tail), json=body, headers={**actor.headers, **headers}
    )


def comparable(response: Response, ticket_id: int) -> tuple[Any, ...]:
    """What a caller can observe, with the id they asked about taken out."""
    body = response.json() if response.content else None
    if isinstance(body, dict):
        body = {
            k: (re.sub(rf"\b{ticket_id}\b", "N", v) if isinstance(v, str) else v)
            for k, v in body.items()
            if k != "request_id"  # every request's own
        }
    header_names = sorted(h for h in response.headers if h not in ("content-length", "date"))
    return response.status_code, body, header_names


async def victims_ticket(client: AsyncClient, actors: Actors, sessionmaker: Maker) -> JSON:
    """Another customer's ticket with some history: an owner, a team, a note, a reply."""
    victim, agent = await actors.customer(), await actors.agent()
    team_id = await make_team(sessionmaker, member_ids=[agent.id])
    ticket = await file_ticket(
        client, agent, for_customer=victim, subject="Zanzibar invoice", team_id=team_id,
        tags=["vip"], category="billing", channel="email",
    )  # fmt: skip
    await assign(client, agent, ticket["id"], agent.id, note="Handle with care")
    await reply(client, agent, ticket["id"], "Zanzibar note", "internal")
    await reply(client, victim, ticket["id"], "Zanzibar details")
    return ticket


# Per-ticket endpoints


@pytest.mark.parametrize("name", list(PROBES))
async def test_a_customer_probing_another_customers_ticket_learns_nothing_and_changes_nothing(
    client: AsyncClient, actors: Actors, sessionmaker: Maker, name: str
) -> None:
    ticket = await victims_ticket(client, actors, sessionmaker)
    stranger = await actors.customer()
    missing_id = ticket["id"] + 1000
    before = await snapshot(sessionmaker, ticket["id"])

    existing = await probe(client, stranger, ticket["id"], name)
    missing = await probe(client, stranger, missing_id, name)

    assert existing.status_code in (403, 404), existing.text
    assert comparable(existing, ticket["id"]) == comparable(missing, missing_id)
    assert await snapshot(sessionmaker, ticket["id"]) == before
    assert await count_idempotency_records(sessionmaker) == 0


@pytest.mark.parametrize("name", ["read", "resolve", "reply", "messages", "events"])
async def test_the_stranger_gets_404_not_403_where_the_owner_would_succeed(
    client: AsyncClient, actors: Actors, sessionmaker: Maker, name: str
) -> None:
    ticket = await victims_ticket(client, actors, sessionmaker)
    stranger = await actors.customer()

    response = await probe(client, stranger, ticket["id"], name)

    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("name", list(PROBES))
async def test_an_integration_probing_a_ticket_it_did_not_create_learns_nothing(
    client: AsyncClient, actors: Actors, sessionmaker: Maker, name: str
) -> None:
    owner_integration, stranger = await actors.integration(), await actors.integration()
    ticket = await file_ticket(client, owner_integration, subject="Zanzibar")
    missing_id = ticket["id"] + 1000
    before = await snapshot(sessionmaker, ticket["id"])

    existing = await probe(client, stranger, ticket["id"], name)
    missing = await probe(client, stranger, missing_id, name)

    assert existing.status_code in (403, 404), existing.text
    assert comparable(existing, ticket["id"]) == comparable(missing, missing_id)
    assert await snapshot(sessionmaker, ticket["id"]) == before


async def test_an_integration_does_not_see_tickets_filed_by_others_for_its_customer(
    client: AsyncClient, actors: Actors
) -> None:
    integration, agent, customer = (
        await actors.integration(),
        await actors.agent(),
        await actors.customer(),
    )
    its_own = await file_ticket(client, integration, for_customer=customer)
    await file_ticket(client, agent, for_customer=customer)
    await file_ticket(client, customer)

    assert await listed_ids(client, integration) == [its_own["id"]]
    assert len(await listed_ids(client, customer)) == 3


# Lists, filters and search


async def test_a_stranger_never_sees_the_ticket_whatever_the_filter(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    ticket = await victims_ticket(client, actors, sessionmaker)
    stranger = await actors.customer()
    # The stranger's own ticket matches the same filters, so an empty answer is not an
    # accident of the filter.
    own = await file_ticket(client, stranger, subject="Zanzibar invoice", channel="email")
    victim_id = ticket["requester"]["id"]
    owner_id, team_id = await _staff_view(client, actors, ticket)

    probes: list[dict[str, Any]] = [
        {},
        {"requester_id": victim_id},
        {"owner_id": owner_id},
        {"team_id": team_id},
        {"tag": "vip"},
        {"category": "billing"},
        {"channel": "email"},
        {"status": "new"},
        {"status": ["new", "open", "pending", "resolved", "closed"]},
        {"priority": "medium"},
        {"q": "Zanzibar"},
        {"q": "details"},
        {"q": "Zanzibar", "requester_id": victim_id},
        {"updated_since": "2000-01-01T00:00:00Z"},
    ]
    for params in probes:
        ids = await listed_ids(client, stranger, **params)
        assert ticket["id"] not in ids, params
        assert set(ids) <= {own["id"]}, params


async def _staff_view(client: AsyncClient, actors: Actors, ticket: JSON) -> tuple[int, int]:
    admin = await actors.admin()
    seen = (await client.get(ticket_url(ticket["id"]), headers=admin.headers)).json()
    return seen["owner"]["id"], seen["team"]["id"]


async def test_a_customer_lists_only_what_they_requested(
    client: AsyncClient, actors: Actors
) -> None:
    customer, other, agent = await actors.customer(), await actors.customer(), await actors.agent()
    mine = await file_ticket(client, customer)
    filed_for_me = await file_ticket(client, agent, for_customer=customer)
    await file_ticket(client, other)
    await file_ticket(client, agent, for_customer=other)

    assert await listed_ids(client, customer) == [filed_for_me["id"], mine["id"]]


# The customer's own ticket: public things only


async def test_a_customer_reads_only_the_public_messages_of_their_ticket(
    client: AsyncClient, actors: Actors
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await file_ticket(client, customer)
    await reply(client, agent, ticket["id"], "Public answer")
    await reply(client, agent, ticket["id"], "Customer seems confused", "internal")

    theirs = await messages(client, customer, ticket["id"])
    staff = await messages(client, agent, ticket["id"])

    assert [m["body"] for m in theirs] == ["Public answer"]
    assert [m["body"] for m in staff] == ["Public answer", "Customer seems confused"]


async def test_an_integration_reads_only_the_public_messages_of_its_ticket(
    client: AsyncClient, actors: Actors
) -> None:
    integration, agent = await actors.integration(), await actors.agent()
    ticket = await file_ticket(client, integration)
    await reply(client, agent, ticket["id"], "Public answer")
    await reply(client, agent, ticket["id"], "Internal only", "internal")

    assert [m["body"] for m in await messages(client, integration, ticket["id"])] == [
        "Public answer"
    ]


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.INTEGRATION])
async def test_requesters_may_not_write_internal_notes_even_on_their_own_ticket(
    client: AsyncClient, actors: Actors, sessionmaker: Maker, role: Role
) -> None:
    requester = await actors.make(role)
    ticket = await file_ticket(client, requester)
    before = await snapshot(sessionmaker, ticket["id"])

    response = await post_message(client, requester, ticket["id"], "Sneaky", "internal")

    assert response.status_code == 403, response.text
    assert await snapshot(sessionmaker, ticket["id"]) == before


async def test_a_customer_sees_no_internal_event_on_their_own_ticket(
    client: AsyncClient, actors: Actors
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await file_ticket(client, customer)
    await reply(client, agent, ticket["id"], "Internal", "internal")
    await client.patch(ticket_url(ticket["id"]), json={"urgency": "high"}, headers=agent.headers)

    timeline = await events(client, customer, ticket["id"])

    assert {e["visibility"] for e in timeline} == {"public"}
    assert "Internal" not in str(timeline)
