"""Who a ticket is for: customers file for themselves; staff and integrations name the
requester by id or by email; integrations keep their own external_ref unique."""

from __future__ import annotations

import asyncio

import pytest
from httpx import AsyncClient
from sqlalchemy import select

from app.auth.service import issue_bootstrap_token
from app.models import Role, User
from tests.factories import Actors, assert_problem, make_team
from tests.tickets.helpers import (
    Maker,
    count_tickets,
    count_users,
    create,
    file_ticket,
    get_ticket,
    set_active,
    warm_up,
)

BASICS = {"subject": "Cannot log in", "description": "Since this morning."}


async def _user_by_email(sessionmaker: Maker, email: str) -> User | None:
    async with sessionmaker() as session:
        return await session.scalar(select(User).where(User.email == email))


# Customers


async def test_a_customer_files_for_themselves(client: AsyncClient, actors: Actors) -> None:
    customer = await actors.customer()

    ticket = await file_ticket(client, customer)

    assert ticket["requester"]["id"] == customer.id


@pytest.mark.parametrize(
    "extra",
    [
        {"requester_id": 1},
        {"requester": {"email": "someone.else@example.com"}},
        {"team_id": 1},
        {"tags": ["vip"]},
        {"external_ref": "X-1"},
    ],
)
async def test_a_customer_cannot_file_for_someone_else_or_set_staff_fields(
    client: AsyncClient, actors: Actors, sessionmaker: Maker, extra: dict[str, object]
) -> None:
    customer = await actors.customer()
    users_before = await count_users(sessionmaker)

    assert_problem(await create(client, customer, {**BASICS, **extra}), 422)

    assert await count_tickets(sessionmaker) == 0
    assert await count_users(sessionmaker) == users_before


async def test_a_customer_naming_another_customer_cannot_file_for_them(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    customer, victim = await actors.customer(), await actors.customer()

    response = await create(client, customer, {**BASICS, "requester_id": victim.id})

    assert_problem(response, 422)
    assert await count_tickets(sessionmaker) == 0


# Staff and integrations naming the requester


@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR, Role.ADMIN, Role.INTEGRATION])
async def test_staff_and_integrations_file_for_a_requester_by_id(
    client: AsyncClient, actors: Actors, role: Role
) -> None:
    filer, customer = await actors.make(role), await actors.customer()

    response = await create(client, filer, {**BASICS, "requester_id": customer.id})

    assert response.status_code == 201, response.text
    assert response.json()["requester"] == {
        "id": customer.id,
        "name": customer.name,
        "email": customer.email,
    }


@pytest.mark.parametrize("role", [Role.AGENT, Role.INTEGRATION])
async def test_an_unknown_email_creates_that_customer(
    client: AsyncClient, actors: Actors, sessionmaker: Maker, role: Role
) -> None:
    filer = await actors.make(role)
    users_before = await count_users(sessionmaker)

    response = await create(
        client,
        filer,
        {
            **BASICS,
            "requester": {
                "email": "Nora.New@Example.com",
                "name": "Nora",
                "phone": "+393331234567",
            },
        },
    )

    assert response.status_code == 201, response.text
    assert await count_users(sessionmaker) == users_before + 1
    created = await _user_by_email(sessionmaker, "nora.new@example.com")
    assert created is not None
    assert (created.role, created.name, created.phone) == (Role.CUSTOMER, "Nora", "+393331234567")
    assert created.active
    assert response.json()["requester"] == {
        "id": created.id,
        "name": "Nora",
        "email": "nora.new@example.com",
    }


async def test_a_new_customer_without_a_name_is_named_after_their_address(
    client: AsyncClient, actors: Actors
) -> None:
    agent = await actors.agent()

    response = await create(client, agent, {**BASICS, "requester": {"email": "zoe@example.com"}})

    assert response.json()["requester"]["name"] == "zoe"


async def test_a_known_email_is_reused_whatever_its_case(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    agent, customer = await actors.agent(), await actors.customer()
    users_before = await count_users(sessionmaker)

    response = await create(
        client,
        agent,
        {**BASICS, "requester": {"email": customer.email.upper(), "name": "Someone Else"}},
    )

    assert response.status_code == 201, response.text
    assert response.json()["requester"] == {
        "id": customer.id,
        "name": customer.name,
        "email": customer.email,
    }
    assert await count_users(sessionmaker) == users_before


async def test_two_tickets_from_one_new_address_make_one_customer(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    agent, integration = await actors.agent(), await actors.integration()
    body = {**BASICS, "requester": {"email": "twice@example.com"}}
    await warm_up(client, agent, integration)

    first, second = await asyncio.gather(
        create(client, agent, body), create(client, integration, body)
    )

    assert (first.status_code, second.status_code) == (201, 201), (first.text, second.text)
    assert first.json()["requester"]["id"] == second.json()["requester"]["id"]
    async with sessionmaker() as session:
        matches = (
            await session.scalars(select(User).where(User.email == "twice@example.com"))
        ).all()
    assert len(matches) == 1


async def test_a_customer_created_by_email_sees_the_ticket_filed_for_them(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    agent = await actors.agent()
    ticket = await file_ticket(client, agent, requester={"email": "new.person@example.com"})
    async with sessionmaker() as session, session.begin():
        person = await session.scalar(select(User).where(User.email == "new.person@example.com"))
        assert person is not None
        token = await issue_bootstrap_token(session, person, "test")
    headers = {"Authorization": f"Bearer {token}"}

    response = await client.get(f"/api/v1/tickets/{ticket['id']}", headers=headers)
    listed = await client.get("/api/v1/tickets", headers=headers)

    assert response.status_code == 200, response.text
    assert [t["id"] for t in listed.json()["items"]] == [ticket["id"]]


async def test_staff_must_name_a_requester(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    agent = await actors.agent()

    assert_problem(await create(client, agent, BASICS), 422)

    assert await count_tickets(sessionmaker) == 0


async def test_naming_the_requester_twice_is_422(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    agent, customer = await actors.agent(), await actors.customer()

    response = await create(
        client,
        agent,
        {**BASICS, "requester_id": customer.id, "requester": {"email": customer.email}},
    )

    assert_problem(response, 422)
    assert await count_tickets(sessionmaker) == 0


async def test_an_unknown_requester_id_is_422(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    agent = await actors.agent()

    assert_problem(await create(client, agent, {**BASICS, "requester_id": 424242}), 422)

    assert await count_tickets(sessionmaker) == 0


@pytest.mark.parametrize("by", ["id", "email"])
async def test_a_deactivated_requester_is_422(
    client: AsyncClient, actors: Actors, sessionmaker: Maker, by: str
) -> None:
    admin, agent, customer = await actors.admin(), await actors.agent(), await actors.customer()
    await set_active(client, admin, customer.id, False)
    named = (
        {"requester_id": customer.id} if by == "id" else {"requester": {"email": customer.email}}
    )

    assert_problem(await create(client, agent, {**BASICS, **named}), 422)

    assert await count_tickets(sessionmaker) == 0


async def test_an_invalid_requester_email_is_422(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    agent = await actors.agent()
    users_before = await count_users(sessionmaker)

    response = await create(client, agent, {**BASICS, "requester": {"email": "not-an-address"}})

    assert_problem(response, 422)
    assert await count_users(sessionmaker) == users_before


# Channels


async def test_an_integration_files_on_the_api_channel_by_default(
    client: AsyncClient, actors: Actors
) -> None:
    integration, customer = await actors.integration(), await actors.customer()

    ticket = await file_ticket(client, integration, for_customer=customer)

    assert ticket["channel"] == "api"


async def test_an_agent_logs_a_phone_call(client: AsyncClient, actors: Actors) -> None:
    agent, customer = await actors.agent(), await actors.customer()

    ticket = await file_ticket(client, agent, for_customer=customer, channel="phone")

    assert ticket["channel"] == "phone"


# external_ref


async def test_an_integration_keeps_its_external_ref(client: AsyncClient, actors: Actors) -> None:
    integration, customer = await actors.integration(), await actors.customer()

    ticket = await file_ticket(client, integration, for_customer=customer, external_ref="JIRA-7")

    assert ticket["external_ref"] == "JIRA-7"
    assert (await get_ticket(client, integration, ticket["id"]))["external_ref"] == "JIRA-7"


async def test_a_second_ticket_with_the_same_external_ref_is_409_naming_the_first(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    integration, customer = await actors.integration(), await actors.customer()
    first = await file_ticket(client, integration, for_customer=customer, external_ref="JIRA-7")

    response = await create(
        client,
        integration,
        {"subject": "Other", "description": "Other", "requester_id": customer.id,
         "external_ref": "JIRA-7"},
    )  # fmt: skip

    problem = assert_problem(response, 409)
    assert problem["existing_ticket_id"] == first["id"]
    assert str(first["id"]) in problem["detail"]
    assert await count_tickets(sessionmaker) == 1


async def test_external_refs_are_unique_per_integration_not_globally(
    client: AsyncClient, actors: Actors
) -> None:
    one, two = await actors.integration(), await actors.integration()
    customer = await actors.customer()

    first = await file_ticket(client, one, for_customer=customer, external_ref="REF-1")
    second = await file_ticket(client, two, for_customer=customer, external_ref="REF-1")

    assert first["id"] != second["id"]


async def test_racing_tickets_with_one_external_ref_make_one_ticket(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    integration, customer = await actors.integration(), await actors.customer()
    bodies = [
        {"subject": f"Copy {n}", "description": "d", "requester_id": customer.id,
         "external_ref": "RACE-1"}
        for n in range(10)
    ]  # fmt: skip
    await warm_up(client, integration)

    responses = await asyncio.gather(*(create(client, integration, body) for body in bodies))

    created = [r for r in responses if r.status_code == 201]
    assert len(created) == 1, [r.text for r in responses]
    winner = created[0].json()["id"]
    for response in responses:
        if response.status_code != 201:
            assert assert_problem(response, 409)["existing_ticket_id"] == winner
    assert await count_tickets(sessionmaker) == 1


# The requester and the team named together (read in one statement)


@pytest.mark.parametrize(
    ("requester", "team", "problem"),
    [
        ("unknown", "known", "requester"),
        ("unknown", "unknown", "requester"),
        ("unknown", "category", "requester"),
        ("known", "unknown", "Team"),
        ("deactivated", "known", "requester"),
        ("deactivated", "category", "requester"),
    ],
)
async def test_a_bad_requester_or_team_named_together_is_422(
    client: AsyncClient,
    actors: Actors,
    sessionmaker: Maker,
    requester: str,
    team: str,
    problem: str,
) -> None:
    admin, agent, customer = await actors.admin(), await actors.agent(), await actors.customer()
    if requester == "deactivated":
        await set_active(client, admin, customer.id, False)
    known_team = await make_team(sessionmaker)
    body: dict[str, object] = {
        **BASICS,
        "requester_id": 424242 if requester == "unknown" else customer.id,
    }
    if team == "category":
        body["category"] = "billing"
    else:
        body["team_id"] = known_team if team == "known" else 999_999

    refused = assert_problem(await create(client, agent, body), 422)

    assert problem in refused["detail"]
    assert await count_tickets(sessionmaker) == 0


async def test_a_category_without_a_routing_rule_lands_in_the_catch_all_team(
    client: AsyncClient, actors: Actors
) -> None:
    agent, customer = await actors.agent(), await actors.customer()
    body = {**BASICS, "requester_id": customer.id, "category": "no-rule-for-this"}

    response = await create(client, agent, body)

    assert response.status_code == 201, response.text
    assert response.json()["team"]["name"] == "General"
    assert response.json()["requester"]["id"] == customer.id


# Requesters are customers: staff cannot be made one, and nobody can tell staff apart.


async def test_an_integration_cannot_make_a_staff_member_the_requester(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    integration, agent, admin = (
        await actors.integration(),
        await actors.agent(),
        await actors.admin(),
    )
    gone = await actors.customer()
    await set_active(client, admin, gone.id, False)
    before = await count_tickets(sessionmaker)

    answers = [
        await create(client, integration, {**BASICS, "requester": {"email": agent.email}}),
        await create(client, integration, {**BASICS, "requester_id": agent.id}),
        await create(client, integration, {**BASICS, "requester_id": admin.id}),
        await create(client, integration, {**BASICS, "requester_id": gone.id}),
        await create(client, integration, {**BASICS, "requester_id": 987_654}),
        await create(client, integration, {**BASICS, "requester": {"email": gone.email}}),
    ]

    bodies = [assert_problem(answer, 422) for answer in answers]
    # One answer for all: a staff address reads like any other that cannot be a requester.
    assert len({(b["title"], b["detail"]) for b in bodies}) == 1
    for body in bodies:
        assert agent.name not in str(body)
        assert str(agent.id) not in body["detail"]
    assert await count_tickets(sessionmaker) == before


async def test_staff_still_file_for_themselves(client: AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()
    ticket = await file_ticket(client, agent, requester_id=agent.id)
    assert ticket["requester"]["id"] == agent.id
