"""Noise and loops (RFC 3834): automatic answers are internal notes that reopen
nothing and are never answered; bounces mark the delivery and the address; the desk's
own mail is ignored; a storm from one sender is quarantined."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient

from app.config import Settings
from app.models import Role
from tests.factories import Actor, Actors
from tests.inbound.helpers import (
    as_reply,
    desk_message_ids,
    file_ticket,
    fixture,
    mail,
    post_mail,
    take_in,
)


async def _deliveries(client: AsyncClient, staff: Actor, ticket_id: int) -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/tickets/{ticket_id}/notifications", headers=staff.headers)
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def _events(client: AsyncClient, actor: Actor, ticket_id: int) -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/tickets/{ticket_id}/events", headers=actor.headers)
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_an_out_of_office_answer_is_an_internal_note_that_reopens_nothing_and_tells_nobody(
    client: AsyncClient, actors: Actors, settings: Settings
) -> None:
    giulia = await actors.make(Role.CUSTOMER, email="giulia.bianchi@fabrikam.it")
    agent = await actors.agent()
    integration = await actors.integration()
    ticket_id = await file_ticket(client, giulia)
    await client.post(
        f"/api/v1/tickets/{ticket_id}/assign",
        json={"owner_id": agent.id, "reason": "manual"},
        headers=agent.headers,
    )
    for status in ("open", "resolved"):
        await client.post(
            f"/api/v1/tickets/{ticket_id}/status", json={"status": status}, headers=agent.headers
        )
    sent = await desk_message_ids(client, agent, ticket_id)
    before = len(await _deliveries(client, agent, ticket_id))
    raw = as_reply(fixture("out_of_office_exchange.eml"), ticket_id, sent[0], settings.mail_domain)

    answer = await take_in(client, integration, raw)

    assert answer["outcome"] == "appended"
    ticket = (await client.get(f"/api/v1/tickets/{ticket_id}", headers=agent.headers)).json()
    assert ticket["status"] == "resolved"
    notes = (
        await client.get(f"/api/v1/tickets/{ticket_id}/messages", headers=agent.headers)
    ).json()["items"]
    assert [n["visibility"] for n in notes] == ["internal"]
    mine = (
        await client.get(f"/api/v1/tickets/{ticket_id}/messages", headers=giulia.headers)
    ).json()["items"]
    assert mine == []
    assert len(await _deliveries(client, agent, ticket_id)) == before  # nobody is told


async def test_an_automatic_answer_to_no_ticket_is_ignored(
    client: AsyncClient, actors: Actors
) -> None:
    admin = await actors.admin()
    answer = await take_in(
        client,
        admin,
        mail(subject="Out of office: Re: hello", headers={"Auto-Submitted": "auto-replied"}),
    )
    assert answer["outcome"] == "ignored"
    assert answer["ticket_id"] is None
    assert (await client.get("/api/v1/tickets", headers=admin.headers)).json()["items"] == []


async def test_a_machines_mail_becomes_a_ticket_but_is_never_acknowledged(
    client: AsyncClient, actors: Actors
) -> None:
    admin = await actors.admin()
    answer = await take_in(
        client,
        admin,
        mail(sender="monitor@ops.example", headers={"Auto-Submitted": "auto-generated"}),
    )
    assert answer["outcome"] == "created"
    assert await _deliveries(client, admin, answer["ticket_id"]) == []


async def test_a_bounce_marks_the_delivery_and_the_address_and_the_desk_stops_emailing_it(
    client: AsyncClient, actors: Actors, settings: Settings
) -> None:
    nobody = await actors.make(Role.CUSTOMER, email="nobody.here@customer.example")
    agent = await actors.agent()
    integration = await actors.integration()
    ticket_id = await file_ticket(client, nobody)
    [sent] = await desk_message_ids(client, agent, ticket_id)
    raw = as_reply(fixture("bounce_postfix_dsn.eml"), ticket_id, sent, settings.mail_domain)

    answer = await take_in(client, integration, raw)

    assert answer["outcome"] == "ignored"
    assert answer["ticket_id"] == ticket_id
    assert "5.1.1" in answer["reason"]
    [delivery] = await _deliveries(client, agent, ticket_id)
    assert delivery["bounced_at"] is not None
    assert "5.1.1" in delivery["bounce_reason"]
    user = (await client.get(f"/api/v1/users/{nobody.id}", headers=agent.headers)).json()
    assert user["email_undeliverable_at"] is not None
    bounced = [e for e in await _events(client, agent, ticket_id) if e["kind"] == "email.bounced"]
    assert bounced[0]["visibility"] == "internal"
    assert bounced[0]["data"]["permanent"] is True
    assert not [e for e in await _events(client, nobody, ticket_id) if e["kind"] == "email.bounced"]
    # A reply now reaches them by no email (no reply storm into a dead mailbox).
    reply = await client.post(
        f"/api/v1/tickets/{ticket_id}/messages", json={"body": "Hello?"}, headers=agent.headers
    )
    assert reply.status_code == 201
    assert len(await _deliveries(client, agent, ticket_id)) == 1
    # The bounce again changes nothing.
    assert (await post_mail(client, integration, raw)).json() == answer


async def test_a_bounce_about_mail_the_desk_did_not_send_changes_nothing(
    client: AsyncClient, actors: Actors
) -> None:
    nobody = await actors.make(Role.CUSTOMER, email="nobody.here@customer.example")
    admin = await actors.admin()

    answer = await take_in(client, admin, fixture("bounce_postfix_dsn.eml"))

    assert answer["outcome"] == "ignored"
    user = (await client.get(f"/api/v1/users/{nobody.id}", headers=admin.headers)).json()
    assert user["email_undeliverable_at"] is None


async def test_mail_from_the_desks_own_address_is_ignored(
    client: AsyncClient, actors: Actors
) -> None:
    admin = await actors.admin()
    answer = await take_in(client, admin, mail(sender="Support <support@desk.example>"))
    assert answer["outcome"] == "ignored"
    assert "own address" in answer["reason"]


async def test_a_storm_from_one_sender_is_quarantined_and_can_be_let_in(
    client: AsyncClient, actors: Actors, settings: Settings
) -> None:
    admin = await actors.admin()
    limit = settings.inbound_sender_limit
    outcomes = [
        (await take_in(client, admin, mail(subject=f"Alert {n}")))["outcome"]
        for n in range(limit + 3)
    ]
    assert outcomes == ["created"] * limit + ["quarantined"] * 3
    quarantined = (await client.get("/api/v1/inbound/quarantine", headers=admin.headers)).json()[
        "items"
    ]
    assert {q["reason_code"] for q in quarantined} == {"rate_limited"}
    retried = await client.post(
        f"/api/v1/inbound/quarantine/{quarantined[0]['id']}/retry", headers=admin.headers
    )
    assert retried.status_code == 200, retried.text
    assert retried.json()["outcome"] == "created"
    left = (await client.get("/api/v1/inbound/quarantine", headers=admin.headers)).json()["items"]
    assert len(left) == 2
