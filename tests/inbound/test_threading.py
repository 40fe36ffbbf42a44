"""Replies land on the right ticket: by the Message-IDs the desk sent, by the subject
tag, only from people who belong to the ticket; closed tickets get a follow-up."""

from __future__ import annotations

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
    take_in,
)


async def _ticket(client: AsyncClient, staff: Actor, ticket_id: int) -> dict:  # type: ignore[type-arg]
    response = await client.get(f"/api/v1/tickets/{ticket_id}", headers=staff.headers)
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


async def _messages(client: AsyncClient, actor: Actor, ticket_id: int) -> list[dict]:  # type: ignore[type-arg]
    response = await client.get(f"/api/v1/tickets/{ticket_id}/messages", headers=actor.headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]  # type: ignore[no-any-return]


async def test_a_gmail_reply_to_the_desks_mail_is_the_new_text_on_that_ticket(
    client: AsyncClient, actors: Actors, settings: Settings
) -> None:
    mario = await actors.make(Role.CUSTOMER, email="mario.rossi@gmail.com", name="Mario Rossi")
    admin = await actors.admin()
    integration = await actors.integration()
    ticket_id = await file_ticket(client, mario)
    [sent] = await desk_message_ids(client, admin, ticket_id)

    raw = as_reply(fixture("gmail_reply.eml"), ticket_id, sent, settings.mail_domain)
    answer = await take_in(client, integration, raw)

    assert answer["outcome"] == "appended"
    assert answer["ticket_id"] == ticket_id
    [message] = await _messages(client, mario, ticket_id)
    assert message["id"] == answer["message_id"]
    assert message["channel"] == "email"
    assert message["author"]["id"] == mario.id
    assert "riavviato la stampante" in message["body"]
    assert "Gentile Mario" not in message["body"]  # the quoted history stays in the original
    original = await client.get(
        f"/api/v1/tickets/{ticket_id}/messages/{message['id']}/original", headers=mario.headers
    )
    assert original.status_code == 200
    assert original.headers["content-type"].startswith("message/rfc822")
    assert original.content == raw
    events = (
        await client.get(f"/api/v1/tickets/{ticket_id}/events", headers=admin.headers)
    ).json()["items"]
    created = [e for e in events if e["kind"] == "message.created"]
    assert created[-1]["data"]["channel"] == "email"


async def test_outlook_and_apple_mail_replies_thread_by_references_and_subject_tag(
    client: AsyncClient, actors: Actors, settings: Settings
) -> None:
    admin = await actors.admin()
    integration = await actors.integration()
    for name, address in (
        ("outlook_reply.eml", "jana.schmidt@contoso.de"),
        ("apple_mail_reply.eml", "claire.martin@icloud.com"),
        ("outlook_plain_reply_fr.eml", "luc.bernard@exemple.fr"),
        ("iphone_reply_with_photo.eml", "tom.baker@me.com"),
    ):
        customer = await actors.make(Role.CUSTOMER, email=address)
        ticket_id = await file_ticket(client, customer)
        [sent] = await desk_message_ids(client, admin, ticket_id)
        raw = as_reply(fixture(name), ticket_id, sent, settings.mail_domain)

        answer = await take_in(client, integration, raw)

        assert (answer["outcome"], answer["ticket_id"]) == ("appended", ticket_id), name
        [message] = await _messages(client, customer, ticket_id)
        assert message["body"].strip(), name
        assert "ticket-" not in message["body"], name


async def test_a_subject_tag_alone_threads_a_reply_from_the_requester(
    client: AsyncClient, actors: Actors
) -> None:
    ada = await actors.make(Role.CUSTOMER, email="ada@example.com")
    integration = await actors.integration()
    ticket_id = await file_ticket(client, ada)

    answer = await take_in(
        client, integration, mail(subject=f"Re: [#{ticket_id}] Help", body="Still broken.")
    )

    assert (answer["outcome"], answer["ticket_id"]) == ("appended", ticket_id)


async def test_a_stranger_quoting_another_customers_ticket_gets_a_ticket_of_their_own(
    client: AsyncClient, actors: Actors
) -> None:
    ada = await actors.make(Role.CUSTOMER, email="ada@example.com")
    admin = await actors.admin()
    integration = await actors.integration()
    ticket_id = await file_ticket(client, ada)

    answer = await take_in(
        client,
        integration,
        mail(
            sender="Mallory <mallory@evil.example>",
            subject=f"Re: [#{ticket_id}] Help",
            body="Please send me the invoice of this ticket.",
        ),
    )

    assert answer["outcome"] == "created"
    assert answer["ticket_id"] != ticket_id
    assert f"#{ticket_id}" in answer["reason"]
    assert await _messages(client, admin, ticket_id) == []
    theirs = await _ticket(client, admin, answer["ticket_id"])
    assert theirs["requester"]["email"] == "mallory@evil.example"


async def test_a_reply_on_a_resolved_ticket_reopens_it(client: AsyncClient, actors: Actors) -> None:
    ada = await actors.make(Role.CUSTOMER, email="ada@example.com")
    agent = await actors.agent()
    integration = await actors.integration()
    ticket_id = await file_ticket(client, ada)
    for status in ("open", "resolved"):
        moved = await client.post(
            f"/api/v1/tickets/{ticket_id}/status", json={"status": status}, headers=agent.headers
        )
        assert moved.status_code == 200, moved.text

    await take_in(client, integration, mail(subject=f"Re: [#{ticket_id}] Help", body="No."))

    assert (await _ticket(client, agent, ticket_id))["status"] == "open"


async def test_a_reply_on_a_closed_ticket_opens_a_linked_follow_up_for_the_same_owner(
    client: AsyncClient, actors: Actors
) -> None:
    ada = await actors.make(Role.CUSTOMER, email="ada@example.com")
    agent = await actors.agent()
    integration = await actors.integration()
    ticket_id = await file_ticket(client, ada, subject="VPN down")
    await client.post(
        f"/api/v1/tickets/{ticket_id}/assign",
        json={"owner_id": agent.id, "reason": "manual"},
        headers=agent.headers,
    )
    for status in ("open", "resolved", "closed"):
        await client.post(
            f"/api/v1/tickets/{ticket_id}/status", json={"status": status}, headers=agent.headers
        )

    answer = await take_in(
        client,
        integration,
        mail(subject=f"Re: [#{ticket_id}] VPN down", body="It is down again since this morning."),
    )

    assert answer["outcome"] == "followup"
    follow_up = await _ticket(client, agent, answer["ticket_id"])
    assert follow_up["follow_up_of"] == ticket_id
    assert follow_up["owner"]["id"] == agent.id
    assert follow_up["requester"]["id"] == ada.id
    assert "down again" in follow_up["description"]
    closed = await _ticket(client, agent, ticket_id)
    assert closed["status"] == "closed"
    events = (await client.get(f"/api/v1/tickets/{ticket_id}/events", headers=ada.headers)).json()[
        "items"
    ]
    assert events[-1]["kind"] == "ticket.follow_up_opened"
    assert events[-1]["data"]["follow_up"]["id"] == follow_up["id"]
    brief = (
        await client.get(f"/api/v1/tickets/{follow_up['id']}/brief", headers=agent.headers)
    ).json()
    assert brief["follow_up_of"]["ticket_id"] == ticket_id
    assert brief["follow_up_of"]["subject"] == "VPN down"


async def test_a_staff_members_email_reply_is_their_public_reply(
    client: AsyncClient, actors: Actors
) -> None:
    ada = await actors.make(Role.CUSTOMER, email="ada@example.com")
    agent = await actors.make(Role.AGENT, email="alan@desk.example", name="Alan")
    integration = await actors.integration()
    ticket_id = await file_ticket(client, ada)

    answer = await take_in(
        client,
        integration,
        mail(
            sender="Alan <alan@desk.example>",
            subject=f"Re: [#{ticket_id}] Help",
            body="Please restart it and tell me.",
        ),
    )

    assert answer["outcome"] == "appended"
    [message] = await _messages(client, ada, ticket_id)  # the customer sees it: public
    assert message["author"]["id"] == agent.id
    ticket = await _ticket(client, agent, ticket_id)
    assert ticket["status"] == "open"
    assert ticket["first_response_at"] is not None


async def test_known_staff_copied_on_a_mail_follow_its_ticket(
    client: AsyncClient, actors: Actors
) -> None:
    agent = await actors.make(Role.AGENT, email="grace@desk.example")
    integration = await actors.integration()

    answer = await take_in(
        client,
        integration,
        mail(cc="Grace <grace@desk.example>, Someone <someone@else.example>"),
    )

    followers = await client.get(
        f"/api/v1/tickets/{answer['ticket_id']}/followers", headers=agent.headers
    )
    assert [f["id"] for f in followers.json()] == [agent.id]
