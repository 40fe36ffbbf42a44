"""Never explain twice: the brief a new owner gets, built from the timeline."""

from __future__ import annotations

from httpx import AsyncClient

from app.continuity.scheduler import ContinuityScheduler
from app.models import Role
from tests.continuity.conftest import Mailbox
from tests.continuity.helpers import (
    API,
    JSON,
    Maker,
    assign,
    away,
    days_from_now,
    deliveries_to,
    file_ticket,
    move,
    notices_of_kind,
    write,
)
from tests.factories import Actor, Actors, assert_problem

PROBLEM = "My printer prints blank pages since Monday, on every tray."


async def _a_case_with_history(client: AsyncClient, actors: Actors) -> tuple[JSON, Actor, Actor]:
    customer = await actors.make(Role.CUSTOMER, name="Giulia")
    marco = await actors.make(Role.AGENT, name="Marco")
    ticket = await file_ticket(client, customer, subject="Blank pages", description=PROBLEM)
    await assign(client, marco, ticket["id"], marco.id)
    await write(client, marco, ticket["id"], "Did you try a new cartridge?")
    await write(client, marco, ticket["id"], "Known firmware bug on the X200", "internal")
    await write(client, customer, ticket["id"], "Yes, a new one: still blank.")
    await move(client, marco, ticket["id"], "pending", note="Which firmware version is it on?")
    return ticket, customer, marco


async def test_the_brief_tells_the_story_so_far(client: AsyncClient, actors: Actors) -> None:
    ticket, _customer, marco = await _a_case_with_history(client, actors)

    response = await client.get(f"{API}/tickets/{ticket['id']}/brief", headers=marco.headers)

    assert response.status_code == 200, response.text
    brief = response.json()
    assert brief["problem"]["text"] == PROBLEM
    assert brief["problem"]["author"] == "Giulia"
    assert brief["latest_customer_message"]["text"] == "Yes, a new one: still blank."
    texts = [step["text"] for step in brief["done"]]
    assert "Did you try a new cartridge?" in texts
    assert "Known firmware bug on the X200" in texts
    assert "Which firmware version is it on?" in texts
    kinds = {step["kind"] for step in brief["done"]}
    assert kinds == {"ticket.owner_changed", "message.created", "ticket.status_changed"}
    assert brief["open_questions"] == ["Which firmware version is it on?"]
    assert brief["waiting_on"] == "customer"
    assert brief["status"] == "pending"
    assert brief["sla"]["state"] == "on_track"
    assert brief["sla"]["next_target"] == "resolution"
    assert brief["owner"] == {"id": marco.id, "name": "Marco"}


async def test_an_unanswered_customer_message_is_an_open_question(
    client: AsyncClient, actors: Actors
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await file_ticket(client, customer)
    await write(client, agent, ticket["id"], "Looking into it")
    await write(client, customer, ticket["id"], "Any news?")

    brief = (await client.get(f"{API}/tickets/{ticket['id']}/brief", headers=agent.headers)).json()

    assert brief["waiting_on"] == "us"
    assert brief["open_questions"] == ["The customer's latest message has no reply yet."]


async def test_the_brief_is_for_staff(client: AsyncClient, actors: Actors) -> None:
    ticket, customer, _ = await _a_case_with_history(client, actors)

    response = await client.get(f"{API}/tickets/{ticket['id']}/brief", headers=customer.headers)

    assert_problem(response, 403)


async def test_the_new_owner_gets_the_brief_with_their_notice(
    client: AsyncClient,
    actors: Actors,
    sessionmaker: Maker,
    scheduler: ContinuityScheduler,
    mailbox: Mailbox,
) -> None:
    ticket, _, marco = await _a_case_with_history(client, actors)
    anna = await actors.make(Role.AGENT, name="Anna")
    await away(client, marco, marco.id, ends_at=days_from_now(4), backup_id=anna.id)

    await scheduler.run_once()
    await mailbox.deliver()

    [brief] = notices_of_kind(await deliveries_to(sessionmaker, anna.id), "handover.brief")
    assert brief["data"]["problem"]["text"] == PROBLEM
    assert brief["data"]["owner"] == {"id": anna.id, "name": "Anna"}
    [mail] = mailbox.texts_to(anna.email)
    assert f"Ticket #{ticket['id']}" in mail
    assert "is now yours" in mail
    for expected in (
        "Handover brief",
        PROBLEM,
        "Yes, a new one: still blank.",
        "Known firmware bug on the X200",
        "Which firmware version is it on?",
    ):
        assert expected in mail


async def test_a_manual_assignment_brings_the_brief_too(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    ticket, _, marco = await _a_case_with_history(client, actors)
    luca = await actors.agent()

    await assign(client, marco, ticket["id"], luca.id)

    assert len(notices_of_kind(await deliveries_to(sessionmaker, luca.id), "handover.brief")) == 1
    # Taking a ticket yourself brings no mail about it.
    assert notices_of_kind(await deliveries_to(sessionmaker, marco.id), "handover.brief") == []


async def test_a_reply_to_a_pending_question_is_still_awaiting_us(
    client: AsyncClient, actors: Actors
) -> None:
    ticket, customer, marco = await _a_case_with_history(client, actors)

    await write(client, customer, ticket["id"], "Firmware 2.1")  # pending -> open

    brief = (await client.get(f"{API}/tickets/{ticket['id']}/brief", headers=marco.headers)).json()
    assert brief["status"] == "open"
    assert brief["waiting_on"] == "us"
    assert brief["open_questions"] == ["The customer's latest message has no reply yet."]
    assert brief["latest_customer_message"]["text"] == "Firmware 2.1"
