"""Routing on arrival: team by category, member by the team's mode among those here."""

from __future__ import annotations

from httpx import AsyncClient

from app.models import AssignmentMode, Role
from tests.continuity.helpers import (
    API,
    Maker,
    away,
    days_from_now,
    file_ticket,
    owner_changes,
    set_active,
)
from tests.factories import Actors, assert_problem, make_team


async def test_round_robin_takes_turns_among_those_available(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    supervisor = await actors.supervisor()
    ada, bob, cy = await actors.agent(), await actors.agent(), await actors.agent()
    team = await make_team(
        sessionmaker, member_ids=[ada.id, bob.id, cy.id], assignment=AssignmentMode.ROUND_ROBIN
    )
    await away(client, supervisor, bob.id, ends_at=days_from_now(2))

    owners = [
        (await file_ticket(client, supervisor, team_id=team))["owner"]["id"] for _ in range(4)
    ]

    assert owners == [ada.id, cy.id, ada.id, cy.id]


async def test_least_loaded_weighs_open_work_by_priority(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    supervisor, busy, calm = await actors.supervisor(), await actors.agent(), await actors.agent()
    team = await make_team(
        sessionmaker, member_ids=[busy.id, calm.id], assignment=AssignmentMode.LEAST_LOADED
    )
    # One critical ticket (weight 8) outweighs three low ones (weight 1 each).
    critical = await file_ticket(client, supervisor, urgency="high", impact="high")
    await client.post(
        f"{API}/tickets/{critical['id']}/assign",
        json={"owner_id": busy.id, "reason": "manual"},
        headers=supervisor.headers,
    )
    for _ in range(3):
        low = await file_ticket(client, supervisor, urgency="low", impact="medium")
        await client.post(
            f"{API}/tickets/{low['id']}/assign",
            json={"owner_id": calm.id, "reason": "manual"},
            headers=supervisor.headers,
        )

    routed = await file_ticket(client, supervisor, team_id=team)

    assert routed["owner"]["id"] == calm.id


async def test_manual_teams_keep_new_tickets_in_their_queue(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    supervisor, agent = await actors.supervisor(), await actors.agent()
    team = await make_team(sessionmaker, member_ids=[agent.id], assignment=AssignmentMode.MANUAL)

    ticket = await file_ticket(client, supervisor, team_id=team)

    assert ticket["owner"] is None
    assert ticket["team"]["id"] == team
    assert await owner_changes(client, supervisor, ticket["id"]) == []


async def test_a_category_rule_sends_a_customers_ticket_to_its_team_and_an_owner(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    admin, customer, agent = await actors.admin(), await actors.customer(), await actors.agent()
    team = await make_team(
        sessionmaker, member_ids=[agent.id], assignment=AssignmentMode.ROUND_ROBIN
    )
    rule = await client.post(
        f"{API}/routing-rules", json={"category": "billing", "team_id": team}, headers=admin.headers
    )
    assert rule.status_code == 201, rule.text

    ticket = await file_ticket(client, customer, category="billing")

    assert ticket["team"]["id"] == team
    assert ticket["owner"] == {"id": agent.id, "name": agent.name}
    [routing] = await owner_changes(client, customer, ticket["id"])
    assert routing["data"]["reason"] == "routing"
    assert routing["actor"] is None
    assert ticket["last_owner_change"]["reason"] == "routing"


async def test_one_rule_per_category(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    admin = await actors.admin()
    team = await make_team(sessionmaker)
    body = {"category": "billing", "team_id": team}
    await client.post(f"{API}/routing-rules", json=body, headers=admin.headers)

    assert_problem(await client.post(f"{API}/routing-rules", json=body, headers=admin.headers), 409)


async def test_agents_read_rules_but_only_managers_write_them(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    agent = await actors.agent()
    team = await make_team(sessionmaker)

    refused = await client.post(
        f"{API}/routing-rules", json={"category": "x", "team_id": team}, headers=agent.headers
    )

    assert_problem(refused, 403)
    assert (await client.get(f"{API}/routing-rules", headers=agent.headers)).status_code == 200


async def test_skills_limit_who_gets_which_category(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    supervisor = await actors.supervisor()
    billing_only, generalist = await actors.agent(), await actors.agent()
    team = await make_team(
        sessionmaker,
        member_ids=[billing_only.id, generalist.id],
        assignment=AssignmentMode.ROUND_ROBIN,
    )
    skills = await client.put(
        f"{API}/users/{billing_only.id}/skills",
        json={"categories": ["billing"]},
        headers=supervisor.headers,
    )
    assert skills.json() == {"user_id": billing_only.id, "categories": ["billing"]}

    hardware = [
        (await file_ticket(client, supervisor, team_id=team, category="hardware"))["owner"]["id"]
        for _ in range(3)
    ]
    billing = [
        (await file_ticket(client, supervisor, team_id=team, category="billing"))["owner"]["id"]
        for _ in range(2)
    ]

    assert hardware == [generalist.id] * 3
    assert set(billing) == {billing_only.id, generalist.id}


async def test_nobody_available_leaves_the_ticket_in_the_queue(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    admin, gone, away_one = await actors.admin(), await actors.agent(), await actors.agent()
    team = await make_team(
        sessionmaker, member_ids=[gone.id, away_one.id], assignment=AssignmentMode.LEAST_LOADED
    )
    await set_active(client, admin, gone.id, False)
    await away(client, admin, away_one.id, ends_at=days_from_now(1))

    ticket = await file_ticket(client, admin, team_id=team)

    assert ticket["owner"] is None


async def test_admins_never_get_routed_tickets(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    admin = await actors.make(Role.ADMIN)
    team = await make_team(
        sessionmaker, member_ids=[admin.id], assignment=AssignmentMode.ROUND_ROBIN
    )

    assert (await file_ticket(client, admin, team_id=team))["owner"] is None
