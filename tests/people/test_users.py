"""Users: who may create, see and change whom; filters and pages; the last-admin rule."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from httpx import AsyncClient, Response
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import Role, User
from tests.factories import Actor, Actors, assert_problem, make_team

Maker = async_sessionmaker[AsyncSession]


async def create_user(client: AsyncClient, caller: Actor, **fields: Any) -> Response:
    body = {"email": "new.person@example.com", "name": "New Person", "role": "agent", **fields}
    return await client.post("/api/v1/users", json=body, headers=caller.headers)


async def get_user(client: AsyncClient, caller: Actor, user_id: int) -> dict[str, Any]:
    response = await client.get(f"/api/v1/users/{user_id}", headers=caller.headers)
    assert response.status_code == 200, response.text
    user: dict[str, Any] = response.json()
    return user


async def patch_user(client: AsyncClient, caller: Actor, user_id: int, **fields: Any) -> Response:
    return await client.patch(f"/api/v1/users/{user_id}", json=fields, headers=caller.headers)


async def list_ids(client: AsyncClient, caller: Actor, **params: Any) -> list[int]:
    response = await client.get("/api/v1/users", params=params, headers=caller.headers)
    assert response.status_code == 200, response.text
    return [user["id"] for user in response.json()["items"]]


# /me


async def test_me_is_the_caller_for_every_role(client: AsyncClient, actors: Actors) -> None:
    for role in Role:
        actor = await actors.make(role)

        response = await client.get("/api/v1/me", headers=actor.headers)

        assert response.status_code == 200, response.text
        me = response.json()
        assert (me["id"], me["email"], me["role"]) == (actor.id, actor.email, role.value)


async def test_me_shows_the_callers_teams(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    agent = await actors.agent()
    team_id = await make_team(sessionmaker, member_ids=[agent.id])

    me = (await client.get("/api/v1/me", headers=agent.headers)).json()

    assert me["team_ids"] == [team_id]


# Creating


async def test_an_admin_creates_a_user_with_sensible_defaults(
    client: AsyncClient, actors: Actors
) -> None:
    admin = await actors.admin()

    response = await create_user(client, admin, email="ann@example.com", name="Ann", role="agent")

    assert response.status_code == 201, response.text
    user = response.json()
    assert response.headers["Location"] == f"/api/v1/users/{user['id']}"
    assert user["email"] == "ann@example.com"
    assert user["name"] == "Ann"
    assert user["role"] == "agent"
    assert user["phone"] is None
    assert (user["timezone"], user["locale"]) == ("UTC", "en")
    assert user["active"] is True
    assert user["team_ids"] == []
    assert await get_user(client, admin, user["id"]) == user


async def test_an_admin_creates_a_user_with_a_full_profile(
    client: AsyncClient, actors: Actors
) -> None:
    admin = await actors.admin()

    response = await create_user(
        client,
        admin,
        role="customer",
        phone="+393331234567",
        timezone="Europe/Rome",
        locale="pt-BR",
    )

    assert response.status_code == 201, response.text
    user = response.json()
    assert (user["phone"], user["timezone"], user["locale"]) == (
        "+393331234567",
        "Europe/Rome",
        "pt-BR",
    )


async def test_only_an_admin_creates_users(client: AsyncClient, actors: Actors) -> None:
    admin = await actors.admin()
    for role in (Role.SUPERVISOR, Role.AGENT, Role.CUSTOMER, Role.INTEGRATION):
        caller = await actors.make(role)

        assert_problem(await create_user(client, caller, email=f"by-{role}@example.com"), 403)

    assert len(await list_ids(client, admin)) == 5  # the admin and the four callers


async def test_creating_a_user_without_a_token_is_401(client: AsyncClient, actors: Actors) -> None:
    await actors.admin()

    response = await client.post(
        "/api/v1/users", json={"email": "x@example.com", "name": "X", "role": "agent"}
    )

    assert_problem(response, 401)


async def test_emails_are_stored_lower_cased(client: AsyncClient, actors: Actors) -> None:
    admin = await actors.admin()

    response = await create_user(client, admin, email="Mixed.Case@Example.COM")

    assert response.json()["email"] == "mixed.case@example.com"


async def test_an_email_that_differs_only_in_case_is_taken(
    client: AsyncClient, actors: Actors
) -> None:
    admin = await actors.admin()
    assert (await create_user(client, admin, email="ann@example.com")).status_code == 201

    response = await create_user(client, admin, email="ANN@Example.com", name="Other Ann")

    body = assert_problem(response, 409)
    assert "ann@example.com" in body["detail"]


async def test_a_user_can_be_created_straight_into_teams(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    admin = await actors.admin()
    second, first = await make_team(sessionmaker), await make_team(sessionmaker)

    response = await create_user(client, admin, role="supervisor", team_ids=[first, second, first])

    assert response.status_code == 201, response.text
    created = response.json()
    assert sorted(created["team_ids"]) == sorted([first, second])
    assert created == await get_user(client, admin, created["id"])


@pytest.mark.parametrize("role", ["customer", "integration"])
async def test_only_staff_can_be_created_into_a_team(
    client: AsyncClient, actors: Actors, sessionmaker: Maker, role: str
) -> None:
    admin = await actors.admin()
    team_id = await make_team(sessionmaker)

    response = await create_user(client, admin, role=role, team_ids=[team_id])

    assert_problem(response, 422)
    assert len(await list_ids(client, admin)) == 1


async def test_creating_a_user_into_an_unknown_team_is_422(
    client: AsyncClient, actors: Actors
) -> None:
    admin = await actors.admin()

    response = await create_user(client, admin, team_ids=[424242])

    body = assert_problem(response, 422)
    assert "424242" in body["detail"]
    assert len(await list_ids(client, admin)) == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "not-an-email"),
        ("name", ""),
        ("name", "   "),
        ("role", "superuser"),
        ("phone", "0039 333 123"),
        ("timezone", "Mars/Olympus_Mons"),
        ("locale", "english"),
        ("team_ids", [0]),
    ],
)
async def test_invalid_user_fields_are_422_and_point_at_the_field(
    client: AsyncClient, actors: Actors, field: str, value: object
) -> None:
    admin = await actors.admin()

    response = await create_user(client, admin, **{field: value})

    body = assert_problem(response, 422)
    assert any(error["loc"][:2] == ["body", field] for error in body["errors"]), body


async def test_a_required_field_missing_is_422(client: AsyncClient, actors: Actors) -> None:
    admin = await actors.admin()

    response = await client.post(
        "/api/v1/users", json={"email": "x@example.com", "name": "X"}, headers=admin.headers
    )

    body = assert_problem(response, 422)
    assert ["body", "role"] in [error["loc"] for error in body["errors"]]


# Reading


async def test_staff_see_any_user(client: AsyncClient, actors: Actors) -> None:
    customer = await actors.customer()
    for caller in (await actors.admin(), await actors.supervisor(), await actors.agent()):
        user = await get_user(client, caller, customer.id)

        assert user["email"] == customer.email


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.INTEGRATION])
async def test_customers_and_integrations_see_only_themselves(
    client: AsyncClient, actors: Actors, role: Role
) -> None:
    caller, other = await actors.make(role), await actors.agent()

    assert (await get_user(client, caller, caller.id))["id"] == caller.id
    response = await client.get(f"/api/v1/users/{other.id}", headers=caller.headers)
    assert_problem(response, 403)


async def test_an_unknown_user_is_404(client: AsyncClient, actors: Actors) -> None:
    admin = await actors.admin()

    assert_problem(await client.get("/api/v1/users/987654", headers=admin.headers), 404)


# Listing


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.INTEGRATION])
async def test_customers_and_integrations_may_not_list_users(
    client: AsyncClient, actors: Actors, role: Role
) -> None:
    caller = await actors.make(role)

    assert_problem(await client.get("/api/v1/users", headers=caller.headers), 403)


@pytest.mark.parametrize("role", [Role.ADMIN, Role.SUPERVISOR, Role.AGENT])
async def test_staff_list_users(client: AsyncClient, actors: Actors, role: Role) -> None:
    caller = await actors.make(role)
    customer = await actors.customer()

    assert await list_ids(client, caller) == [caller.id, customer.id]


async def test_users_are_filtered_by_role(client: AsyncClient, actors: Actors) -> None:
    admin = await actors.admin()
    first, _, second = await actors.customer(), await actors.agent(), await actors.customer()

    assert await list_ids(client, admin, role="customer") == [first.id, second.id]
    assert await list_ids(client, admin, role="supervisor") == []


async def test_users_are_filtered_by_active(client: AsyncClient, actors: Actors) -> None:
    admin = await actors.admin()
    leaver, stayer = await actors.agent(), await actors.agent()
    await patch_user(client, admin, leaver.id, active=False)

    assert await list_ids(client, admin, active="false") == [leaver.id]
    assert await list_ids(client, admin, active="true") == [admin.id, stayer.id]


async def test_users_are_filtered_by_team(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    admin = await actors.admin()
    red, blue, both = await actors.agent(), await actors.agent(), await actors.supervisor()
    red_team = await make_team(sessionmaker, member_ids=[red.id, both.id])
    await make_team(sessionmaker, member_ids=[blue.id, both.id])
    empty_team = await make_team(sessionmaker)

    assert await list_ids(client, admin, team_id=red_team) == [red.id, both.id]
    assert await list_ids(client, admin, team_id=red_team, role="agent") == [red.id]
    assert await list_ids(client, admin, team_id=empty_team) == []


async def test_an_unknown_role_filter_is_422(client: AsyncClient, actors: Actors) -> None:
    admin = await actors.admin()

    response = await client.get("/api/v1/users", params={"role": "owner"}, headers=admin.headers)

    body = assert_problem(response, 422)
    assert ["query", "role"] in [error["loc"] for error in body["errors"]]


async def test_pages_walk_every_user_exactly_once(client: AsyncClient, actors: Actors) -> None:
    admin = await actors.admin()
    everyone = [admin.id] + [(await actors.customer()).id for _ in range(7)]

    seen: list[int] = []
    pages = 0
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/v1/users", params=params, headers=admin.headers)).json()
        seen += [user["id"] for user in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == everyone
    assert pages == 3


async def test_a_filtered_list_pages_within_the_filter(client: AsyncClient, actors: Actors) -> None:
    admin = await actors.admin()
    customers = []
    for _ in range(3):
        customers.append((await actors.customer()).id)
        await actors.agent()

    first = (
        await client.get(
            "/api/v1/users", params={"role": "customer", "limit": 2}, headers=admin.headers
        )
    ).json()
    rest = (
        await client.get(
            "/api/v1/users",
            params={"role": "customer", "limit": 2, "cursor": first["next_cursor"]},
            headers=admin.headers,
        )
    ).json()

    assert [u["id"] for u in first["items"] + rest["items"]] == customers
    assert rest["next_cursor"] is None


@pytest.mark.parametrize("limit", [0, 201, -1])
async def test_a_limit_outside_1_to_200_is_422(
    client: AsyncClient, actors: Actors, limit: int
) -> None:
    admin = await actors.admin()

    response = await client.get("/api/v1/users", params={"limit": limit}, headers=admin.headers)

    assert_problem(response, 422)


# Changing


async def test_an_admin_changes_anyones_role_and_profile(
    client: AsyncClient, actors: Actors
) -> None:
    admin, agent = await actors.admin(), await actors.agent()

    response = await patch_user(
        client, admin, agent.id, role="supervisor", name="Promoted", timezone="Asia/Tokyo"
    )

    assert response.status_code == 200, response.text
    changed = await get_user(client, admin, agent.id)
    assert (changed["role"], changed["name"], changed["timezone"]) == (
        "supervisor",
        "Promoted",
        "Asia/Tokyo",
    )
    body = response.json()
    assert (body.pop("tokens_revoked"), body.pop("active_tokens")) == (0, 1)
    assert changed == body


async def test_non_admins_may_not_change_other_people(client: AsyncClient, actors: Actors) -> None:
    admin, target = await actors.admin(), await actors.agent()
    for role in (Role.SUPERVISOR, Role.AGENT, Role.CUSTOMER, Role.INTEGRATION):
        caller = await actors.make(role)

        assert_problem(await patch_user(client, caller, target.id, name="Hijacked"), 403)

    assert (await get_user(client, admin, target.id))["name"] == target.name


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.AGENT, Role.CUSTOMER, Role.INTEGRATION])
async def test_everyone_changes_their_own_profile(
    client: AsyncClient, actors: Actors, role: Role
) -> None:
    me = await actors.make(role)

    response = await patch_user(
        client,
        me,
        me.id,
        name="New Name",
        phone="+14155550123",
        timezone="America/New_York",
        locale="it",
    )

    assert response.status_code == 200, response.text
    changed = response.json()
    assert (changed["name"], changed["phone"], changed["timezone"], changed["locale"]) == (
        "New Name",
        "+14155550123",
        "America/New_York",
        "it",
    )


@pytest.mark.parametrize(
    "change",
    [{"role": "admin"}, {"active": False}, {"team_ids": []}, {"name": "Sneaky", "role": "admin"}],
)
async def test_nobody_changes_their_own_role_activity_or_teams(
    client: AsyncClient, actors: Actors, change: dict[str, Any]
) -> None:
    admin, agent = await actors.admin(), await actors.agent()

    response = await patch_user(client, agent, agent.id, **change)

    assert_problem(response, 403)
    unchanged = await get_user(client, admin, agent.id)
    assert (unchanged["role"], unchanged["active"], unchanged["name"]) == (
        "agent",
        True,
        agent.name,
    )


async def test_changing_an_unknown_user_is_404(client: AsyncClient, actors: Actors) -> None:
    admin = await actors.admin()

    assert_problem(await patch_user(client, admin, 987654, name="Ghost"), 404)


async def test_the_email_cannot_be_changed(client: AsyncClient, actors: Actors) -> None:
    admin, agent = await actors.admin(), await actors.agent()

    response = await patch_user(client, admin, agent.id, email="new@example.com")

    assert_problem(response, 422)


async def test_null_clears_the_phone(client: AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()
    await patch_user(client, agent, agent.id, phone="+14155550123")

    response = await patch_user(client, agent, agent.id, phone=None)

    assert response.status_code == 200, response.text
    assert response.json()["phone"] is None


@pytest.mark.parametrize("field", ["name", "role", "timezone", "locale", "active", "team_ids"])
async def test_null_is_refused_where_a_value_is_required(
    client: AsyncClient, actors: Actors, field: str
) -> None:
    admin, agent = await actors.admin(), await actors.agent()

    response = await patch_user(client, admin, agent.id, **{field: None})

    body = assert_problem(response, 422)
    assert field in body["detail"]


async def test_an_empty_patch_changes_nothing(client: AsyncClient, actors: Actors) -> None:
    admin, agent = await actors.admin(), await actors.agent()
    before = await get_user(client, admin, agent.id)

    response = await patch_user(client, admin, agent.id)

    assert response.status_code == 200, response.text
    after = response.json()
    assert (after.pop("tokens_revoked"), after.pop("active_tokens")) == (0, 1)
    assert {k: v for k, v in after.items() if k != "updated_at"} == {
        k: v for k, v in before.items() if k != "updated_at"
    }


# Teams of a user


async def test_team_ids_replace_the_users_teams(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    admin, agent = await actors.admin(), await actors.agent()
    old = await make_team(sessionmaker, member_ids=[agent.id])
    new = await make_team(sessionmaker)

    moved = await patch_user(client, admin, agent.id, team_ids=[new])
    assert moved.json()["team_ids"] == [new]
    assert await list_ids(client, admin, team_id=old) == []

    cleared = await patch_user(client, admin, agent.id, team_ids=[])
    assert cleared.json()["team_ids"] == []


async def test_a_customer_cannot_be_put_in_a_team(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    admin, customer = await actors.admin(), await actors.customer()
    team_id = await make_team(sessionmaker)

    assert_problem(await patch_user(client, admin, customer.id, team_ids=[team_id]), 422)
    assert await list_ids(client, admin, team_id=team_id) == []


async def test_a_team_member_cannot_become_a_customer(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    admin, agent = await actors.admin(), await actors.agent()
    await make_team(sessionmaker, member_ids=[agent.id])

    assert_problem(await patch_user(client, admin, agent.id, role="customer"), 422)
    assert (await get_user(client, admin, agent.id))["role"] == "agent"


async def test_leaving_every_team_and_becoming_a_customer_in_one_patch_is_fine(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    admin, agent = await actors.admin(), await actors.agent()
    await make_team(sessionmaker, member_ids=[agent.id])

    response = await patch_user(client, admin, agent.id, role="customer", team_ids=[])

    assert response.status_code == 200, response.text
    assert (response.json()["role"], response.json()["team_ids"]) == ("customer", [])


async def test_moving_a_user_into_an_unknown_team_is_422_and_keeps_their_teams(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    admin, agent = await actors.admin(), await actors.agent()
    team_id = await make_team(sessionmaker, member_ids=[agent.id])

    response = await patch_user(client, admin, agent.id, team_ids=[team_id, 424242], name="Moved")

    assert_problem(response, 422)
    unchanged = await get_user(client, admin, agent.id)
    assert (unchanged["team_ids"], unchanged["name"]) == ([team_id], agent.name)


# The last admin


async def test_the_last_active_admin_cannot_deactivate_themselves(
    client: AsyncClient, actors: Actors
) -> None:
    admin = await actors.admin()

    assert_problem(await patch_user(client, admin, admin.id, active=False), 409)
    assert (await client.get("/api/v1/me", headers=admin.headers)).status_code == 200


@pytest.mark.parametrize("role", ["supervisor", "agent", "customer", "integration"])
async def test_the_last_active_admin_cannot_be_demoted(
    client: AsyncClient, actors: Actors, role: str
) -> None:
    admin = await actors.admin()

    assert_problem(await patch_user(client, admin, admin.id, role=role), 409)
    assert (await get_user(client, admin, admin.id))["role"] == "admin"


async def test_an_admin_steps_down_when_another_admin_remains(
    client: AsyncClient, actors: Actors
) -> None:
    leaving, staying = await actors.admin(), await actors.admin()

    assert (await patch_user(client, leaving, leaving.id, role="agent")).status_code == 200
    assert_problem(await patch_user(client, staying, staying.id, active=False), 409)


async def test_a_deactivated_admin_does_not_count_as_another_admin(
    client: AsyncClient, actors: Actors
) -> None:
    admin, former = await actors.admin(), await actors.admin()
    assert (await patch_user(client, admin, former.id, active=False)).status_code == 200

    assert_problem(await patch_user(client, admin, admin.id, role="agent"), 409)


async def test_changing_the_last_admins_profile_is_fine(
    client: AsyncClient, actors: Actors
) -> None:
    admin = await actors.admin()

    response = await patch_user(client, admin, admin.id, name="Still Admin", active=True)

    assert response.status_code == 200, response.text


async def test_two_admins_stepping_down_at_once_leave_one_active(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    first, second = await actors.admin(), await actors.admin()
    async with sessionmaker() as blocker:
        # Hold both rows so that the two requests queue behind us, then run side by side.
        await blocker.execute(
            select(User).where(User.id.in_([first.id, second.id])).with_for_update()
        )
        both = asyncio.gather(
            patch_user(client, first, first.id, active=False),
            patch_user(client, second, second.id, active=False),
        )
        await wait_for_lock_waiters(sessionmaker, 2)
        await blocker.commit()
        responses = await both

    assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
    admin = first if responses[1].status_code == 200 else second
    assert await list_ids(client, admin, role="admin", active="true") == [admin.id]


async def wait_for_lock_waiters(sessionmaker: Maker, count: int) -> None:
    query = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    for _ in range(200):
        async with sessionmaker() as probe:
            if await probe.scalar(query) >= count:
                return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{count} requests never queued for the lock")
