"""Owners: who may assign, who may own, the reason given, and returning to the queue."""

from __future__ import annotations

import pytest
from httpx import AsyncClient

from app.models import Role
from tests.factories import Actors, assert_problem
from tests.tickets.helpers import (
    Maker,
    assign,
    bring_to,
    events,
    file_ticket,
    get_ticket,
    set_active,
    snapshot,
    ticket_url,
)

REASONS = ["routing", "escalation", "unavailability", "rebalancing", "manual"]


@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR, Role.ADMIN])
async def test_staff_assign_a_ticket_to_an_agent(
    client: AsyncClient, actors: Actors, role: Role
) -> None:
    assigner, agent = await actors.make(role), await actors.agent()
    ticket = await file_ticket(client, assigner)

    response = await assign(client, assigner, ticket["id"], agent.id)

    assert response.status_code == 200, response.text
    assert response.json()["owner"] == {"id": agent.id, "name": agent.name}
    assert response.headers["ETag"] == f'"{response.json()["version"]}"'
    assert (await get_ticket(client, assigner, ticket["id"]))["owner"] == response.json()["owner"]


async def test_an_agent_takes_a_ticket_for_themselves(client: AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()
    ticket = await file_ticket(client, agent)

    response = await assign(client, agent, ticket["id"], agent.id, reason="routing")

    assert response.json()["owner"]["id"] == agent.id


async def test_a_supervisor_can_own_a_ticket(client: AsyncClient, actors: Actors) -> None:
    agent, supervisor = await actors.agent(), await actors.supervisor()
    ticket = await file_ticket(client, agent)

    response = await assign(client, agent, ticket["id"], supervisor.id, reason="escalation")

    assert response.status_code == 200, response.text
    assert response.json()["owner"] == {"id": supervisor.id, "name": supervisor.name}


@pytest.mark.parametrize("reason", REASONS)
async def test_every_reason_is_accepted_and_recorded(
    client: AsyncClient, actors: Actors, reason: str
) -> None:
    agent = await actors.agent()
    ticket = await file_ticket(client, agent)

    response = await assign(client, agent, ticket["id"], agent.id, reason=reason)

    assert response.status_code == 200, response.text
    assert (await events(client, agent, ticket["id"]))[-1]["data"]["reason"] == reason


async def test_an_unknown_reason_is_422_and_changes_nothing(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    agent = await actors.agent()
    ticket = await file_ticket(client, agent)
    before = await snapshot(sessionmaker, ticket["id"])

    assert_problem(await assign(client, agent, ticket["id"], agent.id, reason="whim"), 422)

    assert await snapshot(sessionmaker, ticket["id"]) == before


async def test_the_reason_is_required(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    agent = await actors.agent()
    ticket = await file_ticket(client, agent)

    response = await client.post(
        ticket_url(ticket["id"], "/assign"), json={"owner_id": agent.id}, headers=agent.headers
    )

    assert_problem(response, 422)
    assert (await get_ticket(client, agent, ticket["id"]))["owner"] is None


async def test_owner_id_must_be_given_even_to_unassign(client: AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()
    ticket = await file_ticket(client, agent)

    response = await client.post(
        ticket_url(ticket["id"], "/assign"), json={"reason": "manual"}, headers=agent.headers
    )

    assert_problem(response, 422)


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.INTEGRATION, Role.ADMIN])
async def test_only_agents_and_supervisors_can_own_tickets(
    client: AsyncClient, actors: Actors, sessionmaker: Maker, role: Role
) -> None:
    agent, candidate = await actors.agent(), await actors.make(role)
    ticket = await file_ticket(client, agent)
    before = await snapshot(sessionmaker, ticket["id"])

    assert_problem(await assign(client, agent, ticket["id"], candidate.id), 422)

    assert await snapshot(sessionmaker, ticket["id"]) == before


async def test_a_deactivated_agent_cannot_own_tickets(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    admin, agent, gone = await actors.admin(), await actors.agent(), await actors.agent()
    await set_active(client, admin, gone.id, False)
    ticket = await file_ticket(client, agent)
    before = await snapshot(sessionmaker, ticket["id"])

    assert_problem(await assign(client, agent, ticket["id"], gone.id), 422)

    assert await snapshot(sessionmaker, ticket["id"]) == before


async def test_an_unknown_owner_is_422(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    agent = await actors.agent()
    ticket = await file_ticket(client, agent)
    before = await snapshot(sessionmaker, ticket["id"])

    assert_problem(await assign(client, agent, ticket["id"], 987_654), 422)

    assert await snapshot(sessionmaker, ticket["id"]) == before


async def test_a_handover_replaces_the_owner(client: AsyncClient, actors: Actors) -> None:
    supervisor, first, second = (
        await actors.supervisor(),
        await actors.agent(),
        await actors.agent(),
    )
    ticket = await file_ticket(client, supervisor)
    await assign(client, supervisor, ticket["id"], first.id)

    response = await assign(client, supervisor, ticket["id"], second.id, reason="unavailability")

    assert response.json()["owner"] == {"id": second.id, "name": second.name}


async def test_null_returns_the_ticket_to_the_queue(client: AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()
    ticket = await file_ticket(client, agent)
    await assign(client, agent, ticket["id"], agent.id)

    response = await assign(client, agent, ticket["id"], None, reason="rebalancing")

    assert response.status_code == 200, response.text
    assert response.json()["owner"] is None


async def test_assigning_the_current_owner_again_changes_nothing(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    agent = await actors.agent()
    ticket = await file_ticket(client, agent)
    await assign(client, agent, ticket["id"], agent.id)
    before = await snapshot(sessionmaker, ticket["id"])

    response = await assign(client, agent, ticket["id"], agent.id)

    assert response.status_code == 200, response.text
    assert await snapshot(sessionmaker, ticket["id"]) == before


async def test_a_previous_owner_who_left_can_still_be_handed_over_from(
    client: AsyncClient, actors: Actors
) -> None:
    admin, agent, leaver = await actors.admin(), await actors.agent(), await actors.agent()
    ticket = await file_ticket(client, agent)
    await assign(client, agent, ticket["id"], leaver.id)
    await set_active(client, admin, leaver.id, False)

    response = await assign(client, agent, ticket["id"], agent.id, reason="unavailability")

    assert response.status_code == 200, response.text
    handover = (await events(client, agent, ticket["id"]))[-1]
    assert handover["data"]["from"] == {"id": leaver.id, "name": leaver.name}


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.INTEGRATION])
async def test_requesters_and_integrations_may_not_assign_their_own_tickets(
    client: AsyncClient, actors: Actors, sessionmaker: Maker, role: Role
) -> None:
    filer, agent = await actors.make(role), await actors.agent()
    ticket = await file_ticket(client, filer)
    before = await snapshot(sessionmaker, ticket["id"])

    assert_problem(await assign(client, filer, ticket["id"], agent.id), 403)

    assert await snapshot(sessionmaker, ticket["id"]) == before


async def test_a_closed_ticket_cannot_be_reassigned(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    agent, other = await actors.agent(), await actors.agent()
    ticket = await file_ticket(client, agent)
    await bring_to(client, agent, ticket["id"], "closed")
    before = await snapshot(sessionmaker, ticket["id"])

    assert_problem(await assign(client, agent, ticket["id"], other.id), 409)

    assert await snapshot(sessionmaker, ticket["id"]) == before


async def test_assigning_an_unknown_ticket_is_404(client: AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()

    assert_problem(await assign(client, agent, 123_456, agent.id), 404)
