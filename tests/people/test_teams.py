"""Teams: who may make and change them, their members, names and assignment modes."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import Role
from tests.factories import Actor, Actors, assert_problem, make_team

Maker = async_sessionmaker[AsyncSession]


async def create_team(client: AsyncClient, caller: Actor, **fields: Any) -> Response:
    return await client.post(
        "/api/v1/teams", json={"name": "Billing", **fields}, headers=caller.headers
    )


async def patch_team(client: AsyncClient, caller: Actor, team_id: int, **fields: Any) -> Response:
    return await client.patch(f"/api/v1/teams/{team_id}", json=fields, headers=caller.headers)


async def get_team(client: AsyncClient, caller: Actor, team_id: int) -> dict[str, Any]:
    response = await client.get(f"/api/v1/teams/{team_id}", headers=caller.headers)
    assert response.status_code == 200, response.text
    team: dict[str, Any] = response.json()
    return team


# Creating


@pytest.mark.parametrize("role", [Role.ADMIN, Role.SUPERVISOR])
async def test_admins_and_supervisors_create_teams(
    client: AsyncClient, actors: Actors, role: Role
) -> None:
    caller, agent = await actors.make(role), await actors.agent()

    response = await create_team(
        client, caller, name="Billing", member_ids=[agent.id, caller.id], assignment="round_robin"
    )

    assert response.status_code == 201, response.text
    team = response.json()
    assert response.headers["Location"] == f"/api/v1/teams/{team['id']}"
    assert team["name"] == "Billing"
    assert team["assignment"] == "round_robin"
    assert team["member_ids"] == sorted([agent.id, caller.id])
    assert await get_team(client, caller, team["id"]) == team


@pytest.mark.parametrize("role", [Role.AGENT, Role.CUSTOMER, Role.INTEGRATION])
async def test_others_may_not_create_teams(client: AsyncClient, actors: Actors, role: Role) -> None:
    admin, caller = await actors.admin(), await actors.make(role)

    assert_problem(await create_team(client, caller), 403)

    listed = await client.get("/api/v1/teams", headers=admin.headers)
    assert listed.json()["items"] == []


async def test_a_new_team_is_manual_and_empty_by_default(
    client: AsyncClient, actors: Actors
) -> None:
    admin = await actors.admin()

    team = (await create_team(client, admin)).json()

    assert (team["assignment"], team["member_ids"]) == ("manual", [])


@pytest.mark.parametrize("mode", ["manual", "round_robin", "least_loaded"])
async def test_every_assignment_mode_is_accepted(
    client: AsyncClient, actors: Actors, mode: str
) -> None:
    admin = await actors.admin()

    response = await create_team(client, admin, assignment=mode)

    assert response.status_code == 201, response.text
    assert response.json()["assignment"] == mode


async def test_an_unknown_assignment_mode_is_422(client: AsyncClient, actors: Actors) -> None:
    admin = await actors.admin()

    body = assert_problem(await create_team(client, admin, assignment="random"), 422)
    assert ["body", "assignment"] in [error["loc"] for error in body["errors"]]


async def test_repeated_members_count_once(client: AsyncClient, actors: Actors) -> None:
    admin, agent = await actors.admin(), await actors.agent()

    response = await create_team(client, admin, member_ids=[agent.id, agent.id])

    assert response.json()["member_ids"] == [agent.id]


async def test_members_see_the_team_among_their_teams(client: AsyncClient, actors: Actors) -> None:
    admin, agent = await actors.admin(), await actors.agent()

    team = (await create_team(client, admin, member_ids=[agent.id])).json()

    me = (await client.get("/api/v1/me", headers=agent.headers)).json()
    assert me["team_ids"] == [team["id"]]


async def test_a_team_name_is_taken_once(client: AsyncClient, actors: Actors) -> None:
    admin = await actors.admin()
    assert (await create_team(client, admin, name="Billing")).status_code == 201

    body = assert_problem(await create_team(client, admin, name="Billing"), 409)
    assert "Billing" in body["detail"]


async def test_surrounding_whitespace_does_not_make_a_name_new(
    client: AsyncClient, actors: Actors
) -> None:
    admin = await actors.admin()
    await create_team(client, admin, name="Billing")

    assert_problem(await create_team(client, admin, name="  Billing "), 409)


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.INTEGRATION])
async def test_only_staff_can_be_members(client: AsyncClient, actors: Actors, role: Role) -> None:
    admin, outsider, agent = await actors.admin(), await actors.make(role), await actors.agent()

    response = await create_team(client, admin, member_ids=[agent.id, outsider.id])

    body = assert_problem(response, 422)
    assert str(outsider.id) in body["detail"]
    assert (await client.get("/api/v1/teams", headers=admin.headers)).json()["items"] == []


async def test_an_unknown_member_is_422(client: AsyncClient, actors: Actors) -> None:
    admin = await actors.admin()

    body = assert_problem(await create_team(client, admin, member_ids=[424242]), 422)
    assert "424242" in body["detail"]


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, "nul\x00byte"])
async def test_a_bad_team_name_is_422(client: AsyncClient, actors: Actors, name: str) -> None:
    admin = await actors.admin()

    body = assert_problem(await create_team(client, admin, name=name), 422)
    assert ["body", "name"] in [error["loc"] for error in body["errors"]]


# Reading


@pytest.mark.parametrize("role", [Role.ADMIN, Role.SUPERVISOR, Role.AGENT])
async def test_staff_see_teams(
    client: AsyncClient, actors: Actors, sessionmaker: Maker, role: Role
) -> None:
    caller = await actors.make(role)
    team_id = await make_team(sessionmaker, name="Support", member_ids=[caller.id])

    listed = await client.get("/api/v1/teams", headers=caller.headers)
    one = await get_team(client, caller, team_id)

    assert listed.status_code == 200, listed.text
    assert listed.json() == {"items": [one], "next_cursor": None}
    assert (one["name"], one["member_ids"]) == ("Support", [caller.id])


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.INTEGRATION])
async def test_customers_and_integrations_see_no_teams(
    client: AsyncClient, actors: Actors, sessionmaker: Maker, role: Role
) -> None:
    caller = await actors.make(role)
    team_id = await make_team(sessionmaker)

    assert_problem(await client.get("/api/v1/teams", headers=caller.headers), 403)
    assert_problem(await client.get(f"/api/v1/teams/{team_id}", headers=caller.headers), 403)


async def test_an_unknown_team_is_404(client: AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()

    assert_problem(await client.get("/api/v1/teams/424242", headers=agent.headers), 404)


async def test_teams_are_paged_without_gaps_or_repeats(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    agent = await actors.agent()
    team_ids = [await make_team(sessionmaker) for _ in range(5)]

    first = (await client.get("/api/v1/teams?limit=2", headers=agent.headers)).json()
    second = (
        await client.get(
            "/api/v1/teams",
            params={"limit": 2, "cursor": first["next_cursor"]},
            headers=agent.headers,
        )
    ).json()
    third = (
        await client.get(
            "/api/v1/teams",
            params={"limit": 2, "cursor": second["next_cursor"]},
            headers=agent.headers,
        )
    ).json()

    pages = [first, second, third]
    assert [t["id"] for page in pages for t in page["items"]] == team_ids
    assert third["next_cursor"] is None


# Changing


@pytest.mark.parametrize("role", [Role.ADMIN, Role.SUPERVISOR])
async def test_admins_and_supervisors_change_teams(
    client: AsyncClient, actors: Actors, sessionmaker: Maker, role: Role
) -> None:
    caller, agent = await actors.make(role), await actors.agent()
    team_id = await make_team(sessionmaker, name="Old", member_ids=[caller.id])

    response = await patch_team(
        client, caller, team_id, name="New", member_ids=[agent.id], assignment="least_loaded"
    )

    assert response.status_code == 200, response.text
    team = await get_team(client, caller, team_id)
    assert (team["name"], team["member_ids"], team["assignment"]) == (
        "New",
        [agent.id],
        "least_loaded",
    )
    assert team == response.json()


@pytest.mark.parametrize("role", [Role.AGENT, Role.CUSTOMER, Role.INTEGRATION])
async def test_others_may_not_change_teams(
    client: AsyncClient, actors: Actors, sessionmaker: Maker, role: Role
) -> None:
    admin, caller = await actors.admin(), await actors.make(role)
    team_id = await make_team(sessionmaker, name="Kept")

    assert_problem(await patch_team(client, caller, team_id, name="Taken over"), 403)
    assert (await get_team(client, admin, team_id))["name"] == "Kept"


async def test_member_ids_replace_the_members(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    admin, stays, leaves, joins = (
        await actors.admin(),
        await actors.agent(),
        await actors.agent(),
        await actors.agent(),
    )
    team_id = await make_team(sessionmaker, member_ids=[stays.id, leaves.id])

    response = await patch_team(client, admin, team_id, member_ids=[joins.id, stays.id])

    assert response.json()["member_ids"] == sorted([stays.id, joins.id])
    leaver = (await client.get("/api/v1/me", headers=leaves.headers)).json()
    assert leaver["team_ids"] == []


async def test_a_patch_without_member_ids_keeps_the_members(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    admin, agent = await actors.admin(), await actors.agent()
    team_id = await make_team(sessionmaker, member_ids=[agent.id])

    response = await patch_team(client, admin, team_id, assignment="round_robin")

    assert response.json()["member_ids"] == [agent.id]


async def test_an_empty_member_list_empties_the_team(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    admin, agent = await actors.admin(), await actors.agent()
    team_id = await make_team(sessionmaker, member_ids=[agent.id])

    response = await patch_team(client, admin, team_id, member_ids=[])

    assert response.json()["member_ids"] == []


async def test_renaming_onto_another_teams_name_is_409(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    admin = await actors.admin()
    await make_team(sessionmaker, name="Billing")
    team_id = await make_team(sessionmaker, name="Support")

    assert_problem(await patch_team(client, admin, team_id, name="Billing"), 409)
    assert (await get_team(client, admin, team_id))["name"] == "Support"


async def test_renaming_a_team_to_its_own_name_is_fine(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    admin = await actors.admin()
    team_id = await make_team(sessionmaker, name="Billing")

    response = await patch_team(client, admin, team_id, name="Billing")

    assert response.status_code == 200, response.text


async def test_a_customer_cannot_be_added_to_a_team(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    admin, agent, customer = await actors.admin(), await actors.agent(), await actors.customer()
    team_id = await make_team(sessionmaker, member_ids=[agent.id])

    assert_problem(await patch_team(client, admin, team_id, member_ids=[customer.id]), 422)
    assert (await get_team(client, admin, team_id))["member_ids"] == [agent.id]


async def test_an_unknown_member_is_refused_and_nothing_changes(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    admin, agent = await actors.admin(), await actors.agent()
    team_id = await make_team(sessionmaker, name="Billing", member_ids=[agent.id])

    response = await patch_team(client, admin, team_id, name="Renamed", member_ids=[424242])

    assert_problem(response, 422)
    team = await get_team(client, admin, team_id)
    assert (team["name"], team["member_ids"]) == ("Billing", [agent.id])


async def test_changing_an_unknown_team_is_404(client: AsyncClient, actors: Actors) -> None:
    admin = await actors.admin()

    assert_problem(await patch_team(client, admin, 424242, name="Ghost"), 404)


@pytest.mark.parametrize("field", ["name", "member_ids", "assignment"])
async def test_null_is_refused_for_team_fields(
    client: AsyncClient, actors: Actors, sessionmaker: Maker, field: str
) -> None:
    admin = await actors.admin()
    team_id = await make_team(sessionmaker)

    body = assert_problem(await patch_team(client, admin, team_id, **{field: None}), 422)
    assert field in body["detail"]


async def test_an_unknown_field_in_a_team_patch_is_422(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    admin = await actors.admin()
    team_id = await make_team(sessionmaker)

    body = assert_problem(await patch_team(client, admin, team_id, colour="red"), 422)
    assert ["body", "colour"] in [error["loc"] for error in body["errors"]]
