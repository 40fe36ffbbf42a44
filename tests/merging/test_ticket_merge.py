"""Merging duplicate tickets: the duplicate closes into its primary, whose timeline shows
both; replies to the duplicate land on the primary; each customer is told once; one
customer never sees another's conversation."""

from __future__ import annotations

from email.message import EmailMessage

from httpx import AsyncClient
from sqlalchemy import select

from app.inbound.mail import ParsedMail, parse_mail, ticket_id_from_message_id
from app.models import NotificationDelivery, WebhookEndpoint
from app.tickets.merged import resolve_merged
from tests.factories import Actors, assert_problem
from tests.feedback.conftest import Mailbox, text_of
from tests.live.conftest import LiveServer, live_client
from tests.merging.helpers import expect, follow, linked, merge, merge_ok
from tests.tickets.helpers import (
    Maker,
    etag_of,
    events,
    file_ticket,
    get_ticket,
    messages,
    reply,
    snapshot,
    ticket_url,
)


async def test_two_duplicates_merged_into_one_request(
    client: AsyncClient, actors: Actors, mailbox: Mailbox, sessionmaker: Maker
) -> None:
    customer, agent, watcher = await actors.customer(), await actors.agent(), await actors.agent()
    primary = await file_ticket(client, customer, subject="VPN drops every hour")
    first = await file_ticket(client, customer, subject="VPN again")
    second = await file_ticket(client, customer, subject="Still the VPN")
    await reply(client, customer, first["id"], "It dropped at 10:00 and 11:00.")
    await reply(client, agent, second["id"], "Which client version?")
    await reply(client, agent, second["id"], "Looks like the 2.3 bug.", visibility="internal")
    await follow(client, agent, second["id"], watcher.id)
    await mailbox.deliver()
    before = len(mailbox.to(customer.email))

    for duplicate in (first, second):
        fresh = await get_ticket(client, agent, primary["id"])
        merged = expect(
            await merge(
                client,
                agent,
                duplicate["id"],
                primary["id"],
                if_match=etag_of(await get_ticket(client, agent, duplicate["id"])),
                into_version=fresh["version"],
                note="Same outage.",
            ),
            200,
        )
        assert merged["id"] == primary["id"]
        assert merged["version"] == fresh["version"] + 1

    for duplicate in (first, second):
        closed = await get_ticket(client, customer, duplicate["id"])
        assert (closed["status"], closed["merged_into"]) == ("closed", primary["id"])
        [event] = [
            e
            for e in await events(client, customer, duplicate["id"])
            if e["kind"] == "ticket.merged"
        ]
        assert event["data"]["into_id"] == primary["id"]
        assert "note" not in event["data"]  # written for staff

    # The primary's timeline, for the customer: everything public of all three.
    bodies = [m["body"] for m in await messages(client, customer, primary["id"])]
    assert bodies == ["It dropped at 10:00 and 11:00.", "Which client version?"]
    staff_bodies = [m["body"] for m in await messages(client, agent, primary["id"])]
    assert "Looks like the 2.3 bug." in staff_bodies
    timeline = await events(client, customer, primary["id"])
    assert {e["ticket_id"] for e in timeline} == {primary["id"], first["id"], second["id"]}
    assert [e["id"] for e in timeline] == sorted(e["id"] for e in timeline)
    assert all(e["visibility"] == "public" for e in timeline)
    merged_events = [
        e for e in timeline if e["kind"] == "ticket.merged" and e["ticket_id"] == primary["id"]
    ]
    assert sorted(e["data"]["merged_id"] for e in merged_events) == [first["id"], second["id"]]

    # Links both ways, and the watcher of a duplicate now follows the primary.
    links = await linked(client, agent, primary["id"])
    assert links["counts"]["merged_from"] == 2
    assert {(i["relation"], i["ticket"]["id"]) for i in links["items"]} == {
        ("merged_from", first["id"]),
        ("merged_from", second["id"]),
    }
    back = await linked(client, customer, first["id"])
    assert [(i["relation"], i["ticket"]["id"]) for i in back["items"]] == [
        ("merged_into", primary["id"])
    ]
    followers = expect(
        await client.get(ticket_url(primary["id"], "/followers"), headers=agent.headers), 200
    )
    assert watcher.id in [f["id"] for f in followers]

    # Told once per duplicate, where the request lives now; nothing else.
    await mailbox.deliver()
    received = mailbox.to(customer.email)[before:]
    news = [m for m in received if "merged them" in text_of(m)]
    assert len(news) == 2
    assert sorted(str(m["Subject"]) for m in news) == sorted(
        f"[#{d['id']}] {d['subject']}" for d in (first, second)
    )
    assert f"we continue on #{primary['id']}" in text_of(news[0])
    assert not [m for m in received if "now closed" in text_of(m)]

    # A reply to a duplicate's old email lands on the primary.
    async with sessionmaker() as session:
        old = next(
            m
            for m in mailbox.to(customer.email)
            if str(m["Subject"]).startswith(f"[#{first['id']}]")
        )
        reply_mail = parse_mail(_reply_to(old, customer.email))
        assert isinstance(reply_mail, ParsedMail)
        aimed_at = ticket_id_from_message_id(reply_mail.in_reply_to[0], "helpdesk.localhost")
        assert aimed_at == first["id"]
        assert await resolve_merged(session, aimed_at) == primary["id"]
        assert await resolve_merged(session, primary["id"]) == primary["id"]


def _reply_to(original: EmailMessage, sender: str) -> bytes:
    return (
        f"From: {sender}\r\nTo: helpdesk@localhost\r\n"
        f"Subject: Re: {original['Subject']}\r\n"
        f"Message-ID: <reply-1@customers.example>\r\n"
        f"In-Reply-To: {original['Message-ID']}\r\nReferences: {original['Message-ID']}\r\n"
        "\r\nIt happened again this morning.\r\n"
    ).encode()


async def test_ticket_merged_reaches_webhooks_and_the_websocket_on_both_tickets(
    client: AsyncClient, actors: Actors, sessionmaker: Maker, live_server: LiveServer
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    async with sessionmaker() as session, session.begin():
        hook = WebhookEndpoint(
            url="https://hooks.example/desk",
            secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            event_kinds=["ticket.merged"],
        )
        session.add(hook)
    primary = await file_ticket(client, customer)
    duplicate = await file_ticket(client, customer)
    async with live_client(live_server, agent.token) as live:
        await live.subscribe(f"ticket:{primary['id']}", f"ticket:{duplicate['id']}")
        await merge_ok(client, agent, duplicate["id"], primary["id"])
        seen: set[int] = set()

        def both(frame: dict[str, object]) -> bool:
            event = frame["event"]
            assert isinstance(event, dict)
            if event["kind"] == "ticket.merged":
                seen.add(int(event["ticket_id"]))
            return len(seen) == 2

        await live.events_until(both)
    assert seen == {primary["id"], duplicate["id"]}
    async with sessionmaker() as session:
        rows = (
            await session.scalars(
                select(NotificationDelivery).where(NotificationDelivery.webhook_id == hook.id)
            )
        ).all()
    assert sorted(row.payload["event"]["ticket_id"] for row in rows) == sorted(
        [primary["id"], duplicate["id"]]
    )
    assert {row.payload["event"]["kind"] for row in rows} == {"ticket.merged"}


async def test_merging_another_customers_ticket_shows_neither_the_others_conversation(
    client: AsyncClient, actors: Actors, mailbox: Mailbox
) -> None:
    ada, bob, agent = await actors.customer(), await actors.customer(), await actors.agent()
    primary = await file_ticket(client, ada, subject="Invoice 4411 for Ada's flat is wrong")
    await reply(client, ada, primary["id"], "My IBAN is IT60X0542811101000000123456.")
    duplicate = await file_ticket(client, bob, subject="Invoices are wrong this month")
    await reply(client, bob, duplicate["id"], "My card ends 4242.")
    await mailbox.deliver()
    bob_before = len(mailbox.to(bob.email))

    await merge_ok(client, agent, duplicate["id"], primary["id"])

    # Staff see the whole story on the primary.
    staff = [m["body"] for m in await messages(client, agent, primary["id"])]
    assert staff == ["My IBAN is IT60X0542811101000000123456.", "My card ends 4242."]
    # Ada sees her own conversation only: not Bob's message, nor his ticket's events.
    ada_sees = [m["body"] for m in await messages(client, ada, primary["id"])]
    assert ada_sees == ["My IBAN is IT60X0542811101000000123456."]
    assert {e["ticket_id"] for e in await events(client, ada, primary["id"])} == {primary["id"]}
    assert (await linked(client, ada, primary["id"]))["items"] == []
    assert_problem(await client.get(ticket_url(duplicate["id"]), headers=ada.headers), 404)
    # Bob keeps his own ticket and never sees Ada's.
    assert_problem(await client.get(ticket_url(primary["id"]), headers=bob.headers), 404)
    for tail in ("/messages", "/events", "/linked"):
        assert_problem(await client.get(ticket_url(primary["id"], tail), headers=bob.headers), 404)
    bob_sees = [m["body"] for m in await messages(client, bob, duplicate["id"])]
    assert bob_sees == ["My card ends 4242."]
    assert (await get_ticket(client, bob, duplicate["id"]))["merged_into"] == primary["id"]

    # Bob is told once where his request lives, without a word of Ada's subject; and
    # when the primary is resolved, he hears it on his own ticket.
    await mailbox.deliver()
    [told] = mailbox.to(bob.email)[bob_before:]
    assert "handled together with a related request" in text_of(told)
    assert "Ada" not in text_of(told)
    assert "4411" not in text_of(told)
    ada_before = len(mailbox.to(ada.email))
    expect(
        await client.post(
            ticket_url(primary["id"], "/status"), json={"status": "resolved"}, headers=agent.headers
        ),
        200,
    )
    await mailbox.deliver()
    [resolved] = [m for m in mailbox.to(bob.email)[bob_before + 1 :] if "resolved" in text_of(m)]
    assert str(resolved["Subject"]).startswith(f"[#{duplicate['id']}]")
    assert "IBAN" not in text_of(resolved)
    assert any("resolved" in text_of(m) for m in mailbox.to(ada.email)[ada_before:])


async def test_stale_versions_merge_nothing(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    primary = await file_ticket(client, customer)
    duplicate = await file_ticket(client, customer)
    read_dup = await get_ticket(client, agent, duplicate["id"])
    read_primary = await get_ticket(client, agent, primary["id"])
    await reply(client, agent, primary["id"], "Moved on since.")
    await reply(client, agent, duplicate["id"], "This one too.")
    before = (
        await snapshot(sessionmaker, duplicate["id"]),
        await snapshot(sessionmaker, primary["id"]),
    )

    stale_dup = await merge(
        client, agent, duplicate["id"], primary["id"], if_match=etag_of(read_dup)
    )
    now = (await get_ticket(client, agent, duplicate["id"]))["version"]
    assert now > read_dup["version"]
    assert assert_problem(stale_dup, 412)["current_version"] == now
    stale_primary = await merge(
        client, agent, duplicate["id"], primary["id"], into_version=read_primary["version"]
    )
    problem = assert_problem(stale_primary, 412)
    assert problem["ticket_id"] == primary["id"]
    after = (
        await snapshot(sessionmaker, duplicate["id"]),
        await snapshot(sessionmaker, primary["id"]),
    )
    assert after == before


async def test_what_cannot_be_merged(client: AsyncClient, actors: Actors) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    primary = await file_ticket(client, customer)
    duplicate = await file_ticket(client, customer)
    other = await file_ticket(client, customer)

    assert_problem(await merge(client, agent, primary["id"], primary["id"]), 422)
    assert_problem(await merge(client, agent, duplicate["id"], 10**12), 404)
    await merge_ok(client, agent, duplicate["id"], primary["id"])
    again = assert_problem(await merge(client, agent, duplicate["id"], other["id"]), 409)
    assert again["merged_into"] == primary["id"]
    into_merged = assert_problem(await merge(client, agent, other["id"], duplicate["id"]), 409)
    assert "merge into that one" in into_merged["detail"]
    assert_problem(
        await client.post(
            ticket_url(primary["id"], "/merge"), json={"into_id": "2"}, headers=agent.headers
        ),
        422,
    )


async def test_a_merged_primary_takes_its_duplicates_along(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    top = await file_ticket(client, customer)
    middle = await file_ticket(client, customer)
    bottom = await file_ticket(client, customer)
    await reply(client, customer, bottom["id"], "From the bottom.")
    await merge_ok(client, agent, bottom["id"], middle["id"])
    await merge_ok(client, agent, middle["id"], top["id"])

    assert [m["body"] for m in await messages(client, customer, top["id"])] == ["From the bottom."]
    async with sessionmaker() as session:
        assert await resolve_merged(session, bottom["id"]) == top["id"]
        assert await resolve_merged(session, 10**12) == 10**12


async def test_customers_and_integrations_cannot_merge_or_learn_anything(
    client: AsyncClient, actors: Actors
) -> None:
    ada, bob, agent = await actors.customer(), await actors.customer(), await actors.agent()
    integration = await actors.integration()
    mine = await file_ticket(client, ada)
    also_mine = await file_ticket(client, ada)
    bobs = await file_ticket(client, bob)
    for actor in (ada, integration):
        own = await merge(client, actor, also_mine["id"], mine["id"])
        foreign = await merge(client, actor, bobs["id"], mine["id"])
        missing = await merge(client, actor, 10**12, mine["id"])
        answers = [assert_problem(r, 403) for r in (own, foreign, missing)]
        assert len({a["detail"] for a in answers}) == 1
    assert (await get_ticket(client, agent, also_mine["id"]))["status"] == "new"


async def test_the_duplicates_timeline_stays_its_own(client: AsyncClient, actors: Actors) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    primary = await file_ticket(client, customer)
    duplicate = await file_ticket(client, customer)
    await reply(client, customer, primary["id"], "On the primary.")
    await merge_ok(client, agent, duplicate["id"], primary["id"])
    # The duplicate shows its own rows only: the union is the primary's.
    assert await messages(client, customer, duplicate["id"]) == []
    assert {e["ticket_id"] for e in await events(client, agent, duplicate["id"])} == {
        duplicate["id"]
    }
    # Closed is final: nothing more is written on it.
    assert_problem(
        await client.post(
            ticket_url(duplicate["id"], "/messages"),
            json={"body": "hello?"},
            headers=customer.headers,
        ),
        409,
    )
