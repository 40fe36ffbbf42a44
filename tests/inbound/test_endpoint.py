"""POST /inbound/email: a raw mail in, a ticket out; the same mail twice changes nothing."""

from __future__ import annotations

import asyncio

from httpx import AsyncClient
from prometheus_client import REGISTRY

from tests.factories import Actors, assert_problem
from tests.inbound.helpers import mail, post_mail, take_in


async def test_a_new_mail_becomes_a_ticket_of_its_sender(
    client: AsyncClient, actors: Actors
) -> None:
    integration = await actors.integration()
    admin = await actors.admin()

    answer = await take_in(client, integration, mail())

    assert answer["outcome"] == "created"
    assert answer["message_id"] is None
    assert answer["reason"] is None
    ticket = (
        await client.get(f"/api/v1/tickets/{answer['ticket_id']}", headers=admin.headers)
    ).json()
    assert ticket["subject"] == "Printer on fire"
    assert ticket["channel"] == "email"
    assert ticket["requester"]["email"] == "ada@example.com"
    assert ticket["requester"]["name"] == "Ada Lovelace"
    assert "the printer on floor 3 is on fire" in ticket["description"]


async def test_the_same_mail_twice_answers_the_first_outcome_and_changes_nothing(
    client: AsyncClient, actors: Actors
) -> None:
    integration = await actors.integration()
    admin = await actors.admin()
    raw = mail()

    first = await post_mail(client, integration, raw)
    again = await post_mail(client, integration, raw)

    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    tickets = (await client.get("/api/v1/tickets", headers=admin.headers)).json()["items"]
    assert len(tickets) == 1


async def test_two_copies_at_once_make_one_ticket(client: AsyncClient, actors: Actors) -> None:
    integration = await actors.integration()
    admin = await actors.admin()
    raw = mail()

    answers = await asyncio.gather(*(post_mail(client, integration, raw) for _ in range(4)))

    assert {r.status_code for r in answers} == {202}
    assert len({r.json()["ticket_id"] for r in answers}) == 1
    tickets = (await client.get("/api/v1/tickets", headers=admin.headers)).json()["items"]
    assert len(tickets) == 1


async def test_only_raw_mail_is_taken(client: AsyncClient, actors: Actors) -> None:
    integration = await actors.integration()
    response = await client.post(
        "/api/v1/inbound/email",
        json={"subject": "hello"},
        headers=integration.headers,
    )
    assert_problem(response, 415)


async def test_customers_and_agents_may_not_post_mail(client: AsyncClient, actors: Actors) -> None:
    for actor in (await actors.customer(), await actors.agent()):
        assert_problem(await post_mail(client, actor, mail()), 403)


async def test_garbage_is_quarantined_with_its_reason_and_can_be_deleted(
    client: AsyncClient, actors: Actors
) -> None:
    admin = await actors.admin()

    answer = await take_in(client, admin, b"\r\n\r\n   \r\n")

    assert answer["outcome"] == "quarantined"
    assert answer["ticket_id"] is None
    assert "empty" in answer["reason"]
    listed = (await client.get("/api/v1/inbound/quarantine", headers=admin.headers)).json()
    [item] = listed["items"]
    assert item["id"] == answer["inbound_id"]
    assert item["reason_code"] == "empty"
    raw = await client.get(f"/api/v1/inbound/quarantine/{item['id']}/raw", headers=admin.headers)
    assert raw.content == b"\r\n\r\n   \r\n"
    deleted = await client.delete(f"/api/v1/inbound/quarantine/{item['id']}", headers=admin.headers)
    assert deleted.status_code == 204
    listed = (await client.get("/api/v1/inbound/quarantine", headers=admin.headers)).json()
    assert listed["items"] == []


async def test_each_mail_handled_counts_once_by_its_outcome(
    client: AsyncClient, actors: Actors
) -> None:
    integration = await actors.integration()
    raw = mail()

    def created() -> float:
        value = REGISTRY.get_sample_value("helpdesk_inbound_mail_total", {"outcome": "created"})
        return value or 0.0

    before = created()
    await post_mail(client, integration, raw)
    await post_mail(client, integration, raw)  # a repeat: nothing new happened

    assert created() == before + 1
