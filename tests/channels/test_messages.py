"""The generic intake: a connector's thread becomes one ticket, replies go back out."""

from __future__ import annotations

import base64

from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import ChannelThread, Identity, IdentityKind, InboundMessage, Message, Ticket
from app.notifications.worker import DeliveryWorker
from tests.channels.helpers import API, expect, messages, post, send_post
from tests.factories import Actors, assert_problem
from tests.merging.helpers import merge_ok
from tests.webhooks.helpers import Receiver, create_webhook


async def _count(maker: async_sessionmaker[AsyncSession], model: type) -> int:
    async with maker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_thread_of_ten_posts_is_one_ticket_of_one_customer(
    client: AsyncClient, actors: Actors, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    connector = await actors.integration()
    outcomes = []
    for n in range(10):
        answer = expect(await send_post(client, connector, post(body=f"post {n}")), 202)
        outcomes.append(answer)
    assert outcomes[0]["outcome"] == "created"
    assert {o["outcome"] for o in outcomes[1:]} == {"appended"}
    assert {o["ticket_id"] for o in outcomes} == {outcomes[0]["ticket_id"]}
    ticket_id = outcomes[0]["ticket_id"]
    agent = await actors.agent()
    ticket = expect(await client.get(f"{API}/tickets/{ticket_id}", headers=agent.headers), 200)
    assert ticket["channel"] == "social"
    bodies = [m["body"] for m in await messages(client, agent, ticket_id)]
    assert bodies == [f"post {n}" for n in range(1, 10)]  # the first is the description
    async with sessionmaker() as session:
        holders = (
            await session.scalars(
                select(Identity.user_id).where(
                    Identity.kind == IdentityKind.HANDLE, Identity.source == "twitter"
                )
            )
        ).all()
        requester = await session.scalar(select(Ticket.requester_id).where(Ticket.id == ticket_id))
    # "@Ada" on twitter is "ada": one identity, and it is the requester's.
    assert holders == [requester]


async def test_the_same_post_again_answers_the_same_and_records_nothing(
    client: AsyncClient, actors: Actors, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    connector = await actors.integration()
    body = post(external_id="tweet-42")
    first = await send_post(client, connector, body)
    again = await send_post(client, connector, body)
    assert expect(again, 202) == expect(first, 202)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert await _count(sessionmaker, Ticket) == 1
    assert await _count(sessionmaker, InboundMessage) == 1
    # Another integration's post with the same ids is its own.
    other = await actors.integration()
    third = expect(await send_post(client, other, body), 202)
    assert third["outcome"] == "created"
    assert third["ticket_id"] != expect(first, 202)["ticket_id"]


async def test_threads_and_handles_apart_are_tickets_apart(
    client: AsyncClient, actors: Actors
) -> None:
    connector = await actors.integration()
    a = expect(await send_post(client, connector, post(thread_ref="a")), 202)
    b = expect(await send_post(client, connector, post(thread_ref="b")), 202)
    c = expect(await send_post(client, connector, post(thread_ref="a", source="telegram")), 202)
    assert len({a["ticket_id"], b["ticket_id"], c["ticket_id"]}) == 3


async def test_a_post_with_files_keeps_them(client: AsyncClient, actors: Actors) -> None:
    connector = await actors.integration()
    file = {
        "filename": "receipt.txt",
        "content_type": "text/plain",
        "content_base64": base64.b64encode(b"order 1234").decode(),
    }
    answer = expect(await send_post(client, connector, post(attachments=[file])), 202)
    agent = await actors.agent()
    files = expect(
        await client.get(f"{API}/tickets/{answer['ticket_id']}/attachments", headers=agent.headers),
        200,
    )
    assert [(a["filename"], a["size"]) for a in files["items"]] == [("receipt.txt", 10)]


async def test_bad_posts_are_refused_and_change_nothing(
    client: AsyncClient, actors: Actors, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    connector = await actors.integration()
    assert_problem(await send_post(client, connector, post(source="no spaces here")), 422)
    bad_file = {"filename": "x", "content_base64": "%%%not base64"}
    assert_problem(await send_post(client, connector, post(attachments=[bad_file])), 422)
    assert_problem(await send_post(client, connector, {**post(), "extra": 1}), 422)
    assert await _count(sessionmaker, InboundMessage) == 0


async def test_only_integrations_and_admins_bring_messages_in(
    client: AsyncClient, actors: Actors, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    for who in (await actors.customer(), await actors.agent()):
        assert_problem(await send_post(client, who, post()), 403)
    assert await _count(sessionmaker, InboundMessage) == 0


async def test_a_post_on_a_merged_thread_lands_on_the_primary(
    client: AsyncClient, actors: Actors
) -> None:
    connector = await actors.integration()
    agent = await actors.agent()
    primary = expect(await send_post(client, connector, post(thread_ref="p")), 202)["ticket_id"]
    duplicate = expect(await send_post(client, connector, post(thread_ref="d")), 202)["ticket_id"]
    await merge_ok(client, agent, duplicate, primary)
    later = expect(await send_post(client, connector, post(thread_ref="d", body="any news?")), 202)
    assert later["outcome"] == "appended"
    assert later["ticket_id"] == primary
    assert "any news?" in [m["body"] for m in await messages(client, agent, primary)]


async def test_public_replies_go_back_out_through_the_integrations_webhook(
    hook_client: AsyncClient,
    actors: Actors,
    receiver: Receiver,
    worker: DeliveryWorker,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    actors.client = hook_client
    connector = await actors.integration()
    admin, agent = await actors.admin(), await actors.agent()
    hook = await create_webhook(
        hook_client,
        admin,
        receiver.url("/connector"),
        ["channel.reply"],
        integration_id=connector.id,
    )
    assert hook["integration_id"] == connector.id
    # Another integration's endpoint hears nothing of this thread.
    other = await actors.integration()
    await create_webhook(
        hook_client, admin, receiver.url("/other"), ["channel.reply"], integration_id=other.id
    )
    ticket_id = expect(
        await send_post(hook_client, connector, post(thread_ref="dm-7", handle="@Grace")), 202
    )["ticket_id"]
    for body, visibility in (
        ("Checking with the courier.", "public"),
        ("Courier is slow", "internal"),
    ):
        expect(
            await hook_client.post(
                f"{API}/tickets/{ticket_id}/messages",
                json={"body": body, "visibility": visibility},
                headers=agent.headers,
            ),
            201,
        )
    await worker.run_until_idle()
    sent = [r for r in receiver.requests if r.path in ("/connector", "/other")]
    assert [r.path for r in sent] == ["/connector"]
    data = sent[0].json()
    assert data["type"] == "channel.reply"
    reply = data["data"]["reply"]
    assert reply["source"] == "twitter"
    assert reply["thread_ref"] == "dm-7"
    assert reply["to"]["handle"] == "grace"
    assert reply["message"]["body"] == "Checking with the courier."
    assert reply["message"]["author"]["id"] == agent.id
    assert sent[0].headers["webhook-signature"].startswith("v1,")
    # The customer's own messages on the thread are not echoed back to them.
    expect(await send_post(hook_client, connector, post(thread_ref="dm-7", handle="@Grace")), 202)
    await worker.run_until_idle()
    assert len([r for r in receiver.requests if r.path == "/connector"]) == 1
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == 3


async def test_a_webhook_can_only_belong_to_an_integration(
    client: AsyncClient, actors: Actors
) -> None:
    admin, agent = await actors.admin(), await actors.agent()
    response = await client.post(
        f"{API}/webhooks",
        json={
            "url": "https://hooks.example.com/x",
            "event_kinds": ["channel.reply"],
            "integration_id": agent.id,
        },
        headers=admin.headers,
    )
    assert_problem(response, 422)


async def test_a_thread_follows_its_customer_into_a_merged_record(
    client: AsyncClient, actors: Actors, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    connector, admin = await actors.integration(), await actors.admin()
    first = expect(await send_post(client, connector, post(thread_ref="t", handle="@lin")), 202)
    async with sessionmaker() as session:
        handle_customer = await session.scalar(
            select(Ticket.requester_id).where(Ticket.id == first["ticket_id"])
        )
    known = await actors.customer()
    expect(
        await client.post(
            f"{API}/users/{handle_customer}/merge",
            json={"into_id": known.id},
            headers=admin.headers,
        ),
        200,
    )
    later = expect(await send_post(client, connector, post(thread_ref="t", handle="@lin")), 202)
    assert (later["outcome"], later["ticket_id"]) == ("appended", first["ticket_id"])
    async with sessionmaker() as session:
        owners = set((await session.scalars(select(ChannelThread.customer_id))).all())
    assert owners == {known.id}
