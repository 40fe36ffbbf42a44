"""Escalation: up the chain of levels, to a named team or person, told to the customer."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient, Response

from app.models import AssignmentMode
from tests.continuity.helpers import (
    API,
    Maker,
    assign,
    away,
    days_from_now,
    file_ticket,
    get_ticket,
    move,
    owner_changes,
    team_settings,
)
from tests.factories import Actor, Actors, assert_problem, make_team


async def _escalate(client: AsyncClient, actor: Actor, ticket_id: int, **body: Any) -> Response:
    body.setdefault("note", "Beyond first line")
    return await client.post(
        f"{API}/tickets/{ticket_id}/escalate", json=body, headers=actor.headers
    )


async def test_first_line_to_second_line_to_a_supervisor(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    customer, first, second, boss = (
        await actors.customer(),
        await actors.agent(),
        await actors.agent(),
        await actors.supervisor(),
    )
    first_line = await make_team(
        sessionmaker,
        name="First line",
        member_ids=[first.id],
        assignment=AssignmentMode.ROUND_ROBIN,
    )
    second_line = await make_team(
        sessionmaker,
        name="Second line",
        member_ids=[second.id, boss.id],
        assignment=AssignmentMode.ROUND_ROBIN,
    )
    await team_settings(client, boss, first_line, level=1, escalation_team_id=second_line)
    await team_settings(client, boss, second_line, level=2)
    ticket = await file_ticket(client, first, customer=customer, team_id=first_line)
    assert ticket["owner"]["id"] == first.id

    up_once = await _escalate(client, first, ticket["id"], note="Needs a config change")
    up_twice = await _escalate(client, second, ticket["id"], note="Customer threatens to leave")

    assert up_once.status_code == 200, up_once.text
    assert (up_once.json()["team"]["id"], up_once.json()["owner"]["id"]) == (second_line, second.id)
    assert up_twice.status_code == 200, up_twice.text
    assert up_twice.json()["owner"]["id"] == boss.id
    once, twice = (await owner_changes(client, first, ticket["id"]))[-2:]
    assert once["data"]["reason"] == "escalation"
    assert once["data"]["note"] == "Needs a config change"
    assert once["data"]["escalation"] == {
        "from_team": {"id": first_line, "name": "First line"},
        "to_team": {"id": second_line, "name": "Second line"},
        "level": {"from": 1, "to": 2},
    }
    assert twice["data"]["escalation"]["to_team"] is None
    seen = await get_ticket(client, customer, ticket["id"])
    assert (
        seen["last_owner_change"]["summary"]
        == f"Escalated; {boss.name} is now handling this request"
    )
    assert_problem(await _escalate(client, boss, ticket["id"]), 409)  # the top of the chain


async def test_escalating_to_a_named_person_or_team(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    agent, expert, other = await actors.agent(), await actors.agent(), await actors.agent()
    experts = await make_team(
        sessionmaker, name="Experts", member_ids=[other.id], assignment=AssignmentMode.MANUAL
    )
    to_person = await file_ticket(client, agent)
    to_team = await file_ticket(client, agent)
    await assign(client, agent, to_team["id"], agent.id)

    person = await _escalate(client, agent, to_person["id"], owner_id=expert.id)
    team = await _escalate(client, agent, to_team["id"], team_id=experts)

    assert person.json()["owner"]["id"] == expert.id
    assert (team.json()["owner"], team.json()["team"]["id"]) == (None, experts)


async def test_escalation_is_refused_when_it_cannot_go_anywhere(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    agent, on_leave = await actors.agent(), await actors.agent()
    supervisor = await actors.supervisor()
    await away(client, supervisor, on_leave.id, ends_at=days_from_now(2))
    ticket = await file_ticket(client, agent)
    closed = await file_ticket(client, agent)
    for status in ("open", "resolved", "closed"):
        await move(client, agent, closed["id"], status)

    assert_problem(await _escalate(client, agent, ticket["id"]), 409)  # no team, no chain
    assert_problem(await _escalate(client, agent, ticket["id"], owner_id=on_leave.id), 422)
    assert_problem(await _escalate(client, agent, ticket["id"], team_id=987_654), 422)
    assert_problem(await _escalate(client, agent, closed["id"], owner_id=supervisor.id), 409)
    assert_problem(
        await client.post(
            f"{API}/tickets/{ticket['id']}/escalate",
            json={"owner_id": supervisor.id},
            headers=agent.headers,
        ),
        422,
    )  # the note is required


async def test_customers_cannot_escalate(client: AsyncClient, actors: Actors) -> None:
    customer, supervisor = await actors.customer(), await actors.supervisor()
    ticket = await file_ticket(client, customer)

    assert_problem(await _escalate(client, customer, ticket["id"], owner_id=supervisor.id), 403)
