"""Identities: every user's address is one, admins add numbers and handles, and intake
finds (or makes) one customer whatever channel they write from."""

from __future__ import annotations

import asyncio

from alembic import command
from httpx import AsyncClient
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import create_async_engine

from app.identities.normalise import IdentityRef
from app.identities.service import find_or_create_customer, find_person
from app.migrations import alembic_config, upgrade_to_head
from app.models import NO_EMAIL_DOMAIN, Identity, IdentityKind, Role, User
from tests import database
from tests.factories import Actor, Actors, assert_problem
from tests.merging.helpers import expect
from tests.tickets.helpers import API, Maker, file_ticket


def _url(user_id: int, tail: str = "") -> str:
    return f"{API}/users/{user_id}/identities{tail}"


async def _add(client: AsyncClient, admin: Actor, user_id: int, **body: str) -> dict[str, object]:
    added: dict[str, object] = expect(
        await client.post(_url(user_id), json=body, headers=admin.headers), 201
    )
    return added


async def test_every_users_address_is_an_identity_and_stays_one(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    admin = await actors.admin()
    made = expect(
        await client.post(
            f"{API}/users",
            json={"email": "Grace@Example.com", "name": "Grace", "role": "customer"},
            headers=admin.headers,
        ),
        201,
    )
    [own] = expect(await client.get(_url(made["id"]), headers=admin.headers), 200)
    assert (own["kind"], own["value"], own["source"]) == ("email", "grace@example.com", None)

    # Addresses change outside the API too (SQL by hand): the trigger keeps up.
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(User).where(User.id == made["id"]).values(email="grace@new.example")
        )
    listed = expect(await client.get(_url(made["id"]), headers=admin.headers), 200)
    values = [i["value"] for i in listed]
    assert values == ["grace@example.com", "grace@new.example"]  # the old one is still hers


async def test_admins_add_and_remove_numbers_and_handles(
    client: AsyncClient, actors: Actors
) -> None:
    admin, agent, customer = await actors.admin(), await actors.agent(), await actors.customer()
    phone = await _add(client, admin, customer.id, kind="phone", value="+39 333 123 4567")
    handle = await _add(client, admin, customer.id, kind="handle", value="@Ada", source="Twitter")
    assert (phone["value"], handle["value"], handle["source"]) == (
        "+393331234567",
        "ada",
        "twitter",
    )

    listed = expect(await client.get(_url(customer.id), headers=agent.headers), 200)
    assert [i["kind"] for i in listed] == ["email", "phone", "handle"]

    other = await actors.customer()
    taken = assert_problem(
        await client.post(
            _url(other.id), json={"kind": "phone", "value": "+393331234567"}, headers=admin.headers
        ),
        409,
    )
    assert taken["user_id"] == customer.id
    address_taken = await client.post(
        _url(other.id),
        json={"kind": "email", "value": customer.email.upper()},
        headers=admin.headers,
    )
    assert_problem(address_taken, 409)
    assert_problem(
        await client.post(
            _url(other.id), json={"kind": "phone", "value": "12"}, headers=admin.headers
        ),
        422,
    )
    # An address that is someone's identity cannot become another user's own.
    await _add(client, admin, customer.id, kind="email", value="ada.other@example.com")
    new_user = {"email": "Ada.Other@example.com", "name": "Not Ada", "role": "customer"}
    assert_problem(await client.post(f"{API}/users", json=new_user, headers=admin.headers), 409)

    expect_none = await client.delete(_url(customer.id, f"/{phone['id']}"), headers=admin.headers)
    assert expect_none.status_code == 204
    own = next(i for i in listed if i["kind"] == "email")
    assert_problem(
        await client.delete(_url(customer.id, f"/{own['id']}"), headers=admin.headers), 409
    )
    assert_problem(
        await client.delete(_url(other.id, f"/{handle['id']}"), headers=admin.headers), 404
    )


async def test_only_admins_change_identities_and_customers_see_none(
    client: AsyncClient, actors: Actors
) -> None:
    agent, customer, other = await actors.agent(), await actors.customer(), await actors.customer()
    body = {"kind": "phone", "value": "+393331234567"}
    for caller in (agent, customer):
        assert_problem(await client.post(_url(customer.id), json=body, headers=caller.headers), 403)
        assert_problem(await client.delete(_url(customer.id, "/1"), headers=caller.headers), 403)
    for target in (customer, other):
        assert_problem(await client.get(_url(target.id), headers=customer.headers), 403)


async def test_intake_finds_one_customer_whatever_the_channel(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    admin = await actors.admin()
    async with sessionmaker() as session, session.begin():
        texted = await find_or_create_customer(session, IdentityRef.phone("+39 02 1234 5678"))
        again = await find_or_create_customer(session, IdentityRef.phone("+390212345678"))
        posted = await find_or_create_customer(
            session, IdentityRef.handle("twitter", "@Grace"), name="Grace H."
        )
        mailed = await find_or_create_customer(session, IdentityRef.email("New@Customers.example"))
    assert texted.created
    assert not again.created
    assert again.user.id == texted.user.id
    assert texted.user.role is Role.CUSTOMER
    assert texted.user.email.endswith("@" + NO_EMAIL_DOMAIN)
    assert (posted.user.name, mailed.user.email) == ("Grace H.", "new@customers.example")

    # An admin adds the number to the customer who mailed: the next text finds them.
    await _add(client, admin, mailed.user.id, kind="phone", value="+44 20 7946 0958")
    async with sessionmaker() as session:
        found = await find_person(session, IdentityRef.phone("+442079460958"))
        placeholder = await find_person(session, IdentityRef(IdentityKind.EMAIL, texted.user.email))
    assert found is not None
    assert found.id == mailed.user.id
    assert placeholder is None  # stand-in addresses are nobody's identity

    # A ticket filed for any of a customer's addresses is theirs.
    await _add(client, admin, mailed.user.id, kind="email", value="also@customers.example")
    agent = await actors.agent()
    filed = await file_ticket(client, agent, requester={"email": "Also@Customers.example"})
    assert filed["requester"]["id"] == mailed.user.id


async def test_two_intakes_of_one_new_sender_make_one_customer(sessionmaker: Maker) -> None:
    identity = IdentityRef.handle("whatsapp", "393339998887")

    async def intake() -> int:
        async with sessionmaker() as session, session.begin():
            found = await find_or_create_customer(session, identity)
            await asyncio.sleep(0.05)  # hold the transaction open while the other runs
            return found.user.id

    first, second = await asyncio.gather(intake(), intake())
    assert first == second
    async with sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).select_from(Identity).where(Identity.value == identity.value)
        )
        users = await session.scalar(select(func.count()).select_from(User))
    assert (count, users) == (1, 1)


async def test_the_migration_makes_existing_addresses_identities(database_url: str) -> None:
    scratch = await database.create_database(database_url)
    engine = create_async_engine(scratch)
    try:
        config = alembic_config(scratch)
        await asyncio.to_thread(command.upgrade, config, "9d41c7e2a8b0")
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO users (email, name, role) VALUES "
                    "('ada@example.com', 'Ada', 'customer'), ('bo@example.com', 'Bo', 'agent')"
                )
            )
        await asyncio.to_thread(upgrade_to_head, scratch)
        async with engine.connect() as connection:
            rows = (
                await connection.execute(
                    text(
                        "SELECT u.email, i.kind, i.source FROM identities i "
                        "JOIN users u ON u.id = i.user_id ORDER BY i.value"
                    )
                )
            ).all()
        assert [tuple(row) for row in rows] == [
            ("ada@example.com", "email", ""),
            ("bo@example.com", "email", ""),
        ]
        await asyncio.to_thread(command.downgrade, config, "9d41c7e2a8b0")
    finally:
        await engine.dispose()
        await database.drop_database(scratch)
