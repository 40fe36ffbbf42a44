"""A ticket's life: its fields, its version, derived priority, and the status moves."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from httpx import AsyncClient

from tests.factories import Actors, assert_problem, make_team
from tests.tickets.helpers import (
    Maker,
    bring_to,
    create,
    etag_of,
    file_ticket,
    get_ticket,
    move,
    move_ok,
    patch,
    reply,
    snapshot,
    ticket_url,
)

STATUSES = ["new", "open", "pending", "resolved", "closed"]

# What staff may do from each status, in lifecycle order: the 409 lists exactly these.
STAFF_MOVES = {
    "new": ["open", "pending", "resolved"],
    "open": ["pending", "resolved"],
    "pending": ["open", "resolved"],
    "resolved": ["open", "closed"],
    "closed": [],
}
# What the requester may do to their own ticket: say it is solved, or reopen a solved one.
CUSTOMER_MOVES = {
    "new": ["resolved"],
    "open": ["resolved"],
    "pending": ["resolved"],
    "resolved": ["open"],
    "closed": [],
}


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


# Fields


async def test_a_new_ticket_carries_every_field_of_the_contract(
    client: AsyncClient, actors: Actors
) -> None:
    customer = await actors.customer()

    response = await create(
        client,
        customer,
        {
            "subject": "VPN drops",
            "description": "Every ten minutes.",
            "channel": "email",
            "urgency": "high",
            "impact": "low",
            "category": "network",
        },
    )

    assert response.status_code == 201, response.text
    ticket = response.json()
    assert set(ticket) >= {
        "id", "subject", "status", "channel", "urgency", "impact", "priority", "category",
        "tags", "requester", "owner", "team", "external_ref", "created_at", "updated_at",
        "first_response_at", "resolved_at", "last_action", "sla",
    }  # fmt: skip
    assert ticket["subject"] == "VPN drops"
    assert ticket["description"] == "Every ten minutes."
    assert ticket["status"] == "new"
    assert (ticket["channel"], ticket["urgency"]) == ("email", "high")
    # The desk's assessment is staff-only (app/events/audience.py): the customer sees null.
    assert (ticket["impact"], ticket["priority"], ticket["tags"]) == (None, None, None)
    assert ticket["category"] == "network"
    staff_view = await get_ticket(client, await actors.agent(), ticket["id"])
    assert (staff_view["impact"], staff_view["priority"], staff_view["tags"]) == (
        "low",
        "medium",
        [],
    )
    assert staff_view["sla"]["breached"] is False
    requester = {"id": customer.id, "name": customer.name, "email": customer.email}
    assert ticket["requester"] == requester
    assert ticket["owner"] is None
    # No rule places it and nobody named a team: it lands in the catch-all team.
    assert ticket["team"]["name"] == "General"
    assert ticket["external_ref"] is None
    assert ticket["first_response_at"] is None
    assert ticket["resolved_at"] is None
    assert ticket["created_at"] == ticket["updated_at"]
    assert ticket["last_action"]["kind"] == "ticket.created"
    assert set(ticket["last_action"]) == {"kind", "at", "summary"}
    assert ticket["last_action"]["summary"]
    assert set(ticket["sla"]) == {
        "policy", "first_response_due_at", "next_response_due_at", "resolution_due_at",
        "paused", "breached", "remaining_seconds",
    }  # fmt: skip
    assert ticket["sla"]["paused"] is False
    # Who filed it is a customer: which policy applies and a breach are the desk's own.
    assert ticket["sla"]["policy"] is None
    assert ticket["sla"]["breached"] is None


async def test_a_created_ticket_has_location_and_etag_and_reads_back_identically(
    client: AsyncClient, actors: Actors
) -> None:
    customer = await actors.customer()

    response = await create(client, customer, {"subject": "Hi", "description": "There"})

    ticket = response.json()
    assert response.headers["Location"] == ticket_url(ticket["id"])
    assert response.headers["ETag"] == '"1"'
    assert ticket["version"] == 1
    assert await get_ticket(client, customer, ticket["id"]) == ticket


async def test_defaults_are_medium_urgency_and_impact_on_the_web(
    client: AsyncClient, actors: Actors
) -> None:
    customer = await actors.customer()

    ticket = await get_ticket(
        client, await actors.agent(), (await file_ticket(client, customer))["id"]
    )

    assert (ticket["urgency"], ticket["impact"], ticket["priority"]) == (
        "medium",
        "medium",
        "medium",
    )
    assert ticket["channel"] == "web"


async def test_staff_set_tags_category_and_team_when_filing(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    agent = await actors.agent()
    team_id = await make_team(sessionmaker, name="Billing")

    ticket = await file_ticket(
        client, agent, tags=["VIP", "billing", "vip"], category="invoices", team_id=team_id
    )

    assert ticket["tags"] == ["vip", "billing"]
    assert ticket["category"] == "invoices"
    assert ticket["team"] == {"id": team_id, "name": "Billing"}


# Priority


@pytest.mark.parametrize(
    ("urgency", "impact", "priority"),
    [
        ("high", "high", "critical"),
        ("high", "medium", "high"),
        ("high", "low", "medium"),
        ("medium", "high", "high"),
        ("medium", "medium", "medium"),
        ("medium", "low", "low"),
        ("low", "high", "medium"),
        ("low", "medium", "low"),
        ("low", "low", "planning"),
    ],
)
async def test_priority_is_derived_from_urgency_and_impact(
    client: AsyncClient, actors: Actors, urgency: str, impact: str, priority: str
) -> None:
    customer = await actors.customer()

    filed = await file_ticket(client, customer, urgency=urgency, impact=impact)

    # Staff see the priority; the customer does not (app/events/audience.py).
    assert (await get_ticket(client, await actors.agent(), filed["id"]))["priority"] == priority
    assert filed["priority"] is None


async def test_priority_cannot_be_set_directly_when_filing(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    agent = await actors.agent()

    response = await create(
        client,
        agent,
        {"subject": "s", "description": "d", "priority": "critical", "requester_id": agent.id},
    )

    assert_problem(response, 422)


async def test_priority_cannot_be_patched_directly(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await file_ticket(client, customer)
    before = await snapshot(sessionmaker, ticket["id"])

    assert_problem(await patch(client, agent, ticket["id"], priority="critical"), 422)

    assert await snapshot(sessionmaker, ticket["id"]) == before


async def test_changing_urgency_rederives_priority_and_the_sla_targets(
    client: AsyncClient, actors: Actors
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await file_ticket(client, customer)
    created = at(ticket["created_at"])
    assert at(ticket["sla"]["first_response_due_at"]) == created + timedelta(hours=4)
    assert at(ticket["sla"]["resolution_due_at"]) == created + timedelta(hours=24)

    response = await patch(client, agent, ticket["id"], urgency="high", impact="high")

    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["priority"] == "critical"
    assert at(updated["sla"]["first_response_due_at"]) == created + timedelta(minutes=15)
    assert at(updated["sla"]["resolution_due_at"]) == created + timedelta(hours=4)


# Editing


async def test_staff_edit_subject_category_tags_and_team(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    team_id = await make_team(sessionmaker, name="Network")
    ticket = await file_ticket(client, customer)

    response = await patch(
        client,
        agent,
        ticket["id"],
        subject="  VPN drops hourly  ",
        category="network",
        tags=["Urgent"],
        team_id=team_id,
    )

    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["subject"] == "VPN drops hourly"
    assert updated["category"] == "network"
    assert updated["tags"] == ["urgent"]
    assert updated["team"] == {"id": team_id, "name": "Network"}
    assert await get_ticket(client, agent, ticket["id"]) == updated


async def test_null_clears_category_and_team(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    agent = await actors.agent()
    team_id = await make_team(sessionmaker)
    ticket = await file_ticket(client, agent, category="network", team_id=team_id)

    response = await patch(client, agent, ticket["id"], category=None, team_id=None)

    assert response.status_code == 200, response.text
    assert (response.json()["category"], response.json()["team"]) == (None, None)


async def test_an_unknown_team_is_422_and_changes_nothing(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    agent = await actors.agent()
    ticket = await file_ticket(client, agent)
    before = await snapshot(sessionmaker, ticket["id"])

    assert_problem(await patch(client, agent, ticket["id"], team_id=999_999), 422)

    assert await snapshot(sessionmaker, ticket["id"]) == before


async def test_a_closed_ticket_cannot_be_edited(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    agent = await actors.agent()
    ticket = await file_ticket(client, agent)
    await bring_to(client, agent, ticket["id"], "closed")
    before = await snapshot(sessionmaker, ticket["id"])

    assert_problem(await patch(client, agent, ticket["id"], subject="Again"), 409)

    assert await snapshot(sessionmaker, ticket["id"]) == before


# Version


async def test_every_kind_of_change_increments_the_version_by_one(
    client: AsyncClient, actors: Actors
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await file_ticket(client, customer)
    ticket_id = ticket["id"]

    changes = [
        lambda: patch(client, agent, ticket_id, subject="Changed"),
        lambda: client.post(
            ticket_url(ticket_id, "/assign"),
            json={"owner_id": agent.id, "reason": "routing"},
            headers=agent.headers,
        ),
        lambda: move(client, agent, ticket_id, "open"),
        lambda: client.post(
            ticket_url(ticket_id, "/messages"),
            json={"body": "internal", "visibility": "internal"},
            headers=agent.headers,
        ),
        lambda: client.post(
            ticket_url(ticket_id, "/messages"), json={"body": "hello"}, headers=customer.headers
        ),
    ]
    version = ticket["version"]
    for change in changes:
        response = await change()
        assert response.status_code in (200, 201), response.text

        current = await get_ticket(client, agent, ticket_id)
        assert current["version"] == version + 1
        version = current["version"]


async def test_the_etag_of_a_read_is_the_version(client: AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()
    ticket = await file_ticket(client, agent)
    await patch(client, agent, ticket["id"], subject="Two")

    response = await client.get(ticket_url(ticket["id"]), headers=agent.headers)

    assert response.json()["version"] == 2
    assert response.headers["ETag"] == '"2"' == etag_of(response.json())


async def test_a_patch_that_changes_nothing_keeps_the_version(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    agent = await actors.agent()
    ticket = await file_ticket(client, agent, category="network")
    before = await snapshot(sessionmaker, ticket["id"])

    response = await patch(
        client, agent, ticket["id"], subject=ticket["subject"], category="network"
    )

    assert response.status_code == 200, response.text
    assert response.json()["version"] == 1
    assert response.headers["ETag"] == '"1"'
    assert await snapshot(sessionmaker, ticket["id"]) == before


async def test_every_change_moves_updated_at_forward(client: AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()
    ticket = await file_ticket(client, agent)

    updated = (await patch(client, agent, ticket["id"], subject="Later")).json()

    assert at(updated["updated_at"]) > at(ticket["updated_at"])
    assert updated["created_at"] == ticket["created_at"]


# Status moves by staff


async def test_the_whole_way_from_new_to_closed(client: AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()
    ticket = await file_ticket(client, agent)

    for status in ["open", "pending", "resolved", "closed"]:
        moved = await move_ok(client, agent, ticket["id"], status)
        assert moved["status"] == status

    assert (await get_ticket(client, agent, ticket["id"]))["status"] == "closed"


@pytest.mark.parametrize(
    ("start", "target"),
    [(s, t) for s in STATUSES for t in STATUSES if t in STAFF_MOVES[s]],
)
async def test_staff_make_every_allowed_move(
    client: AsyncClient, actors: Actors, start: str, target: str
) -> None:
    agent = await actors.agent()
    ticket = await file_ticket(client, agent)
    await bring_to(client, agent, ticket["id"], start)

    response = await move(client, agent, ticket["id"], target)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == target


@pytest.mark.parametrize(
    ("start", "target"),
    [(s, t) for s in STATUSES for t in STATUSES if t not in STAFF_MOVES[s]],
)
async def test_any_other_move_is_409_naming_the_allowed_moves_and_changes_nothing(
    client: AsyncClient, actors: Actors, sessionmaker: Maker, start: str, target: str
) -> None:
    agent = await actors.agent()
    ticket = await file_ticket(client, agent)
    await bring_to(client, agent, ticket["id"], start)
    before = await snapshot(sessionmaker, ticket["id"])

    problem = assert_problem(await move(client, agent, ticket["id"], target), 409)

    assert problem["allowed"] == STAFF_MOVES[start]
    assert await snapshot(sessionmaker, ticket["id"]) == before


async def test_closed_is_final_even_for_an_admin(client: AsyncClient, actors: Actors) -> None:
    agent, admin = await actors.agent(), await actors.admin()
    ticket = await file_ticket(client, agent)
    await bring_to(client, agent, ticket["id"], "closed")

    for status in STATUSES:
        problem = assert_problem(await move(client, admin, ticket["id"], status), 409)
        assert problem["allowed"] == []


async def test_resolving_stamps_resolved_at_and_reopening_clears_it(
    client: AsyncClient, actors: Actors
) -> None:
    agent = await actors.agent()
    ticket = await file_ticket(client, agent)

    resolved = await bring_to(client, agent, ticket["id"], "resolved")
    assert resolved["resolved_at"] is not None
    assert at(resolved["resolved_at"]) == at(resolved["updated_at"])

    reopened = await move_ok(client, agent, ticket["id"], "open")
    assert reopened["resolved_at"] is None


async def test_closing_keeps_the_resolution_time(client: AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()
    ticket = await file_ticket(client, agent)
    resolved = await bring_to(client, agent, ticket["id"], "resolved")

    closed = await move_ok(client, agent, ticket["id"], "closed")

    assert closed["resolved_at"] == resolved["resolved_at"]


# Status moves by the requester


@pytest.mark.parametrize(
    ("start", "target"),
    [(s, t) for s in STATUSES for t in STATUSES if t in CUSTOMER_MOVES[s]],
)
async def test_a_customer_resolves_or_reopens_their_own_ticket(
    client: AsyncClient, actors: Actors, start: str, target: str
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await file_ticket(client, customer)
    await bring_to(client, agent, ticket["id"], start)

    response = await move(client, customer, ticket["id"], target)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == target


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (s, t)
        for s in STATUSES
        for t in STATUSES
        if t in STAFF_MOVES[s] and t not in CUSTOMER_MOVES[s]
    ],
)
async def test_a_customer_may_not_make_moves_that_are_for_agents(
    client: AsyncClient, actors: Actors, sessionmaker: Maker, start: str, target: str
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await file_ticket(client, customer)
    await bring_to(client, agent, ticket["id"], start)
    before = await snapshot(sessionmaker, ticket["id"])

    assert_problem(await move(client, customer, ticket["id"], target), 403)

    assert await snapshot(sessionmaker, ticket["id"]) == before


async def test_a_customer_cannot_reopen_a_closed_ticket(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await file_ticket(client, customer)
    await bring_to(client, agent, ticket["id"], "closed")

    problem = assert_problem(await move(client, customer, ticket["id"], "open"), 409)

    assert problem["allowed"] == []


# Replies and the lifecycle


async def test_the_first_public_agent_reply_is_the_first_response_and_opens_the_ticket(
    client: AsyncClient, actors: Actors
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await file_ticket(client, customer)

    message = await reply(client, agent, ticket["id"], "We are on it.")

    after = await get_ticket(client, customer, ticket["id"])
    assert after["status"] == "open"
    assert after["first_response_at"] == message["created_at"]


async def test_a_later_reply_does_not_move_the_first_response(
    client: AsyncClient, actors: Actors
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await file_ticket(client, customer)
    first = await reply(client, agent, ticket["id"], "First.")

    await reply(client, agent, ticket["id"], "Second.")

    assert (await get_ticket(client, agent, ticket["id"]))["first_response_at"] == first[
        "created_at"
    ]


async def test_an_internal_note_is_not_a_first_response(
    client: AsyncClient, actors: Actors
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await file_ticket(client, customer)

    await reply(client, agent, ticket["id"], "Looks like the VPN box.", "internal")

    after = await get_ticket(client, agent, ticket["id"])
    assert after["status"] == "new"
    assert after["first_response_at"] is None


async def test_the_customers_own_follow_up_is_not_a_first_response(
    client: AsyncClient, actors: Actors
) -> None:
    customer = await actors.customer()
    ticket = await file_ticket(client, customer)

    await reply(client, customer, ticket["id"], "Any news?")

    after = await get_ticket(client, customer, ticket["id"])
    assert after["status"] == "new"
    assert after["first_response_at"] is None


async def test_a_reply_to_a_pending_ticket_does_not_stamp_a_first_response_twice(
    client: AsyncClient, actors: Actors
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await file_ticket(client, customer)
    await bring_to(client, agent, ticket["id"], "pending")

    await reply(client, agent, ticket["id"], "Still waiting on you.")

    after = await get_ticket(client, agent, ticket["id"])
    assert after["status"] == "pending"
    assert at(after["first_response_at"]) == at(after["updated_at"])


@pytest.mark.parametrize("start", ["pending", "resolved"])
async def test_a_customer_reply_on_a_waiting_or_solved_ticket_moves_it_back_to_open(
    client: AsyncClient, actors: Actors, start: str
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await file_ticket(client, customer)
    await bring_to(client, agent, ticket["id"], start)

    await reply(client, customer, ticket["id"], "Still broken.")

    after = await get_ticket(client, customer, ticket["id"])
    assert after["status"] == "open"
    assert after["resolved_at"] is None


@pytest.mark.parametrize("start", ["new", "open"])
async def test_a_customer_reply_leaves_new_and_open_tickets_where_they_are(
    client: AsyncClient, actors: Actors, start: str
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await file_ticket(client, customer)
    await bring_to(client, agent, ticket["id"], start)

    await reply(client, customer, ticket["id"], "More detail.")

    assert (await get_ticket(client, customer, ticket["id"]))["status"] == start


async def test_an_agent_reply_on_a_pending_ticket_keeps_it_pending(
    client: AsyncClient, actors: Actors
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await file_ticket(client, customer)
    await bring_to(client, agent, ticket["id"], "pending")

    await reply(client, agent, ticket["id"], "Any luck with the restart?")

    assert (await get_ticket(client, agent, ticket["id"]))["status"] == "pending"


@pytest.mark.parametrize("role", ["customer", "agent"])
async def test_nobody_writes_on_a_closed_ticket(
    client: AsyncClient, actors: Actors, sessionmaker: Maker, role: str
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await file_ticket(client, customer)
    await bring_to(client, agent, ticket["id"], "closed")
    before = await snapshot(sessionmaker, ticket["id"])
    author = customer if role == "customer" else agent

    response = await client.post(
        ticket_url(ticket["id"], "/messages"), json={"body": "Hello?"}, headers=author.headers
    )

    assert_problem(response, 409)
    assert await snapshot(sessionmaker, ticket["id"]) == before
