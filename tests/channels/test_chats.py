"""Chat: a customer and an agent over two WebSockets, availability from who is
connected (in any process), the fallback to email, the transcript at the end."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.chats.fallback import fall_back_unanswered
from app.models import NotificationDelivery
from app.notifications.render import render
from tests.channels.helpers import API, expect
from tests.factories import Actor, Actors, assert_problem, make_team
from tests.live.conftest import LiveServer, live_client, serve


async def _open(client: AsyncClient, customer: Actor, **extra: Any) -> dict[str, Any]:
    body = {"message": "Hi, my card was charged twice", **extra}
    return expect(await client.post(f"{API}/chats", json=body, headers=customer.headers), 201)


async def _say(client: AsyncClient, actor: Actor, ticket_id: int, body: str) -> None:
    expect(
        await client.post(
            f"{API}/tickets/{ticket_id}/messages",
            json={"body": body, "visibility": "public"},
            headers=actor.headers,
        ),
        201,
    )


async def _notices(
    maker: async_sessionmaker[AsyncSession], kind: str
) -> list[NotificationDelivery]:
    async with maker() as session:
        rows = await session.scalars(select(NotificationDelivery).order_by(NotificationDelivery.id))
        return [d for d in rows if any(n.get("kind") == kind for n in d.payload.get("notices", []))]


async def test_a_customer_opens_a_chat_and_nobody_else_sees_it(
    client: AsyncClient, actors: Actors
) -> None:
    customer, stranger, agent = (
        await actors.customer(),
        await actors.customer(),
        await actors.agent(),
    )
    chat = await _open(client, customer)
    ticket = expect(
        await client.get(f"{API}/tickets/{chat['ticket_id']}", headers=customer.headers), 200
    )
    assert ticket["channel"] == "chat"
    assert ticket["description"] == "Hi, my card was charged twice"
    assert_problem(
        await client.get(f"{API}/tickets/{chat['ticket_id']}", headers=stranger.headers), 404
    )
    assert_problem(
        await client.post(
            f"{API}/tickets/{chat['ticket_id']}/messages",
            json={"body": "me too", "visibility": "public"},
            headers=stranger.headers,
        ),
        404,
    )
    # Staff start a chat with a customer by naming them; integrations do not chat.
    assert_problem(
        await client.post(f"{API}/chats", json={"message": "x"}, headers=agent.headers), 422
    )
    started = expect(
        await client.post(
            f"{API}/chats",
            json={"message": "About your refund", "customer_id": customer.id},
            headers=agent.headers,
        ),
        201,
    )
    ticket = expect(
        await client.get(f"{API}/tickets/{started['ticket_id']}", headers=customer.headers), 200
    )
    assert ticket["requester"]["id"] == customer.id
    integration = await actors.integration()
    assert_problem(
        await client.post(
            f"{API}/chats",
            json={"message": "x", "customer_id": customer.id},
            headers=integration.headers,
        ),
        403,
    )
    assert_problem(
        await client.post(
            f"{API}/chats",
            json={"message": "x", "customer_id": customer.id},
            headers=stranger.headers,
        ),
        422,
    )


async def test_chat_is_offered_while_staff_are_connected_to_any_instance(
    client: AsyncClient,
    actors: Actors,
    other_app: FastAPI,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    team = await make_team(sessionmaker, name="Billing", member_ids=[agent.id])
    empty = await make_team(sessionmaker, name="Nobody")

    async def available(**params: Any) -> dict[str, Any]:
        return expect(
            await client.get(f"{API}/chats/availability", params=params, headers=customer.headers),
            200,
        )

    assert (await available())["available"] is False
    async with serve(other_app) as elsewhere, live_client(elsewhere, agent.token):
        now = await available()
        assert now == {"available": True, "agents_online": 1, "team_id": None}
        assert (await available(team_id=team))["available"] is True
        assert (await available(team_id=empty))["available"] is False
    # Gone as soon as the server has seen the connection close.
    for _ in range(50):
        if not (await available())["available"]:
            break
        await asyncio.sleep(0.1)
    assert (await available())["available"] is False


async def test_customer_and_agent_chat_over_two_websockets_with_typing(
    client: AsyncClient, actors: Actors, live_server: LiveServer
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    chat = await _open(client, customer)
    ticket_id = chat["ticket_id"]
    topic = f"ticket:{ticket_id}"
    async with (
        live_client(live_server, customer.token) as customer_live,
        live_client(live_server, agent.token) as agent_live,
    ):
        await customer_live.subscribe(topic)
        await agent_live.subscribe(topic)
        await agent_live.send({"type": "presence", "ticket_id": ticket_id, "state": "typing"})
        typing = await customer_live.receive_type("presence")
        assert (typing["user"]["id"], typing["state"]) == (agent.id, "typing")
        await _say(client, agent, ticket_id, "Let me check that for you.")
        [*_, answer] = await customer_live.events_until(
            lambda f: f["event"]["kind"] == "message.created"
        )
        assert answer["event"]["actor"]["id"] == agent.id
        await customer_live.send({"type": "presence", "ticket_id": ticket_id, "state": "typing"})
        typing = await agent_live.receive_type("presence")
        assert (typing["user"]["id"], typing["state"]) == (customer.id, "typing")
        await _say(client, customer, ticket_id, "Thanks!")
        [*_, reply] = await agent_live.events_until(
            lambda f: (
                f["event"]["kind"] == "message.created" and f["event"]["actor"]["id"] == customer.id
            )
        )
        assert reply["event"]["data"]["channel"] == "chat"
        # A customer's presence outside a chat, or "viewing", is refused.
        await customer_live.send({"type": "presence", "ticket_id": ticket_id, "state": "viewing"})
        assert (await customer_live.receive_type("error"))["type"] == "error"


async def test_an_unanswered_chat_goes_on_by_email_with_its_transcript_once(
    client: AsyncClient, actors: Actors, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    waiting = await _open(client, customer)
    await _say(client, customer, waiting["ticket_id"], "Hello? Anyone?")
    answered = await _open(client, customer, message="Second question")
    await _say(client, agent, answered["ticket_id"], "Here!")
    later = datetime.now(UTC) + timedelta(minutes=10)
    assert await fall_back_unanswered(sessionmaker, timedelta(minutes=5), now=later) == 1
    assert await fall_back_unanswered(sessionmaker, timedelta(minutes=5), now=later) == 0
    [delivery] = await _notices(sessionmaker, "chat.fallback")
    assert delivery.ticket_id == waiting["ticket_id"]
    assert delivery.recipient_id == customer.id
    assert delivery.channel.value == "email"
    mail = render(delivery.payload, customer.name, "en", {})
    assert "We will answer by email" in mail.as_text()
    assert "Hi, my card was charged twice" in mail.as_text()
    assert "Hello? Anyone?" in mail.as_text()
    # Too soon: nothing yet.
    fresh = await _open(client, customer, message="Third")
    assert await fall_back_unanswered(sessionmaker, timedelta(minutes=5)) == 0
    assert fresh["ticket_id"] not in [
        d.ticket_id for d in await _notices(sessionmaker, "chat.fallback")
    ]


async def test_the_transcript_is_mailed_at_the_end_only_when_asked(
    client: AsyncClient, actors: Actors, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    asked = await _open(client, customer, transcript_by_email=True)
    not_asked = await _open(client, customer, message="No transcript please")
    for chat in (asked, not_asked):
        await _say(client, agent, chat["ticket_id"], "Refunded.")
        expect(
            await client.post(
                f"{API}/tickets/{chat['ticket_id']}/messages",
                json={"body": "internal: refund ref 881", "visibility": "internal"},
                headers=agent.headers,
            ),
            201,
        )
        expect(
            await client.post(
                f"{API}/tickets/{chat['ticket_id']}/status",
                json={"status": "resolved"},
                headers=agent.headers,
            ),
            200,
        )
    [delivery] = await _notices(sessionmaker, "chat.transcript")
    assert delivery.ticket_id == asked["ticket_id"]
    mail = render(delivery.payload, customer.name, "en", {})
    assert "Refunded." in mail.as_text()
    assert "refund ref 881" not in mail.as_text()
    # Closing it afterwards does not send it again.
    expect(
        await client.post(
            f"{API}/tickets/{asked['ticket_id']}/status",
            json={"status": "closed"},
            headers=agent.headers,
        ),
        200,
    )
    assert len(await _notices(sessionmaker, "chat.transcript")) == 1
