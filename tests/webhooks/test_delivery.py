"""Sending webhooks to a real HTTP receiver: signed, retried, throttled, given up on."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook, WebhookVerificationError

from app.notifications.worker import DeliveryWorker
from tests.factories import Actor, Actors
from tests.webhooks.helpers import (
    API,
    JSON,
    Received,
    Receiver,
    Reply,
    create_webhook,
    deliveries,
    expect,
    file_ticket,
    make_due,
    sql,
)

Maker = async_sessionmaker[AsyncSession]


def verified(secret: str, request: Received) -> JSON:
    """The payload, as a Standard Webhooks receiver verifies it (raises if it does not)."""
    payload: JSON = Webhook(secret).verify(request.body, request.headers)
    return payload


async def endpoint(client: httpx.AsyncClient, admin: Actor, webhook_id: int) -> JSON:
    return expect(await client.get(f"{API}/webhooks/{webhook_id}", headers=admin.headers), 200)


async def test_a_ticket_event_is_posted_signed_to_the_subscribed_endpoint(
    hook_client: httpx.AsyncClient, actors: Actors, receiver: Receiver, worker: DeliveryWorker
) -> None:
    admin, agent = await actors.admin(), await actors.agent()
    hook = await create_webhook(hook_client, admin, receiver.url("/in"), ["ticket.created"])
    ticket = await file_ticket(hook_client, agent, "Printer on fire")
    await hook_client.post(
        f"{API}/tickets/{ticket['id']}/messages",
        json={"body": "Not subscribed to messages", "visibility": "public"},
        headers=agent.headers,
    )
    await worker.run_until_idle()

    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert request.path == "/in"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("helpdesk-webhooks/")
    assert request.headers["webhook-id"].startswith("msg_")
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 30
    assert request.headers["webhook-signature"].startswith("v1,")
    payload = verified(hook["secret"], request)
    assert payload["type"] == "ticket.created"
    assert payload["data"]["ticket"] == {
        "id": ticket["id"],
        "subject": "Printer on fire",
        "status": "new",
    }
    event = payload["data"]["event"]
    assert event["kind"] == "ticket.created"
    assert event["ticket_id"] == ticket["id"]
    assert event["actor"] == {"id": agent.id, "name": agent.name, "role": "agent"}
    assert payload["timestamp"] == event["created_at"]
    with pytest.raises(WebhookVerificationError):
        verified("whsec_" + "A" * 32, request)

    [delivery] = await deliveries(hook_client, admin, hook["id"])
    assert delivery["status"] == "delivered"
    assert delivery["attempts"] == 1
    assert delivery["response_code"] == 200
    assert delivery["latency_ms"] >= 0
    assert delivery["idempotency_key"] == request.webhook_id
    assert delivery["event_kind"] == "ticket.created"
    assert delivery["ticket_id"] == ticket["id"]
    assert delivery["delivered_at"] is not None


async def test_a_failed_attempt_is_retried_later_with_the_same_webhook_id(
    hook_client: httpx.AsyncClient,
    actors: Actors,
    receiver: Receiver,
    worker: DeliveryWorker,
    sessionmaker: Maker,
) -> None:
    admin, agent = await actors.admin(), await actors.agent()
    hook = await create_webhook(hook_client, admin, receiver.url())
    receiver.script(Reply(500, body=b"database on fire"))
    await file_ticket(hook_client, agent)
    await worker.run_until_idle()

    [delivery] = await deliveries(hook_client, admin, hook["id"])
    assert delivery["status"] == "pending"
    assert delivery["attempts"] == 1
    assert delivery["response_code"] == 500
    assert delivery["last_error"] == "database on fire"
    wait = datetime.fromisoformat(delivery["next_attempt_at"]) - datetime.now(UTC)
    assert timedelta(seconds=2) < wait < timedelta(seconds=7)  # the first backoff step: ~5 s
    assert (await endpoint(hook_client, admin, hook["id"]))["failing_since"] is not None
    assert await worker.run_until_idle() == 0  # not due yet

    await make_due(sessionmaker)
    await worker.run_until_idle()
    [delivery] = await deliveries(hook_client, admin, hook["id"])
    assert (delivery["status"], delivery["attempts"], delivery["response_code"]) == (
        "delivered",
        2,
        200,
    )
    first, second = receiver.requests
    assert first.webhook_id == second.webhook_id == delivery["idempotency_key"]
    assert verified(hook["secret"], first) == verified(hook["secret"], second)
    assert (await endpoint(hook_client, admin, hook["id"]))["failing_since"] is None


@pytest.mark.parametrize("form", ["seconds", "http-date"])
async def test_429_waits_as_long_as_retry_after_says(
    hook_client: httpx.AsyncClient,
    actors: Actors,
    receiver: Receiver,
    worker: DeliveryWorker,
    form: str,
) -> None:
    admin, agent = await actors.admin(), await actors.agent()
    hook = await create_webhook(hook_client, admin, receiver.url())
    later = datetime.now(UTC) + timedelta(seconds=600)
    retry_after = "600" if form == "seconds" else format_datetime(later, usegmt=True)
    receiver.script(Reply(429, headers={"Retry-After": retry_after}))
    await file_ticket(hook_client, agent)
    await worker.run_until_idle()

    [delivery] = await deliveries(hook_client, admin, hook["id"])
    assert (delivery["status"], delivery["response_code"]) == ("pending", 429)
    wait = datetime.fromisoformat(delivery["next_attempt_at"]) - datetime.now(UTC)
    assert timedelta(seconds=590) < wait <= timedelta(seconds=601)
    assert len(receiver.requests) == 1


async def test_a_receiver_too_slow_to_answer_is_retried(
    hook_client: httpx.AsyncClient,
    actors: Actors,
    receiver: Receiver,
    worker: DeliveryWorker,
    sessionmaker: Maker,
) -> None:
    admin, agent = await actors.admin(), await actors.agent()
    hook = await create_webhook(hook_client, admin, receiver.url())
    receiver.script(Reply(200, delay=5))  # the worker gives up after 1 s (hook_settings)
    await file_ticket(hook_client, agent)
    started = time.monotonic()
    await worker.run_until_idle()
    assert time.monotonic() - started < 4

    [delivery] = await deliveries(hook_client, admin, hook["id"])
    assert (delivery["status"], delivery["attempts"]) == ("pending", 1)
    assert delivery["response_code"] is None
    assert "Timeout" in delivery["last_error"]
    assert delivery["latency_ms"] >= 900

    await make_due(sessionmaker)
    await worker.run_until_idle()
    [delivery] = await deliveries(hook_client, admin, hook["id"])
    assert delivery["status"] == "delivered"
    assert len(set(receiver.ids())) == 1


def _mail_to(mailbox: Path, address: str) -> list[str]:
    folder = mailbox / address
    return [p.read_text() for p in sorted(folder.glob("*.eml"))] if folder.exists() else []


async def test_410_disables_the_endpoint_at_once_and_the_admins_are_told(
    hook_client: httpx.AsyncClient,
    actors: Actors,
    receiver: Receiver,
    worker: DeliveryWorker,
    sessionmaker: Maker,
    mailbox: Path,
) -> None:
    admin, italian, departed = await actors.admin(), await actors.admin(), await actors.admin()
    agent = await actors.agent()
    await sql(sessionmaker, "UPDATE users SET locale = 'it' WHERE id = :id", id=italian.id)
    await sql(sessionmaker, "UPDATE users SET active = false WHERE id = :id", id=departed.id)
    hook = await create_webhook(hook_client, admin, receiver.url())
    receiver.default = Reply(410)
    await file_ticket(hook_client, agent)
    await file_ticket(hook_client, agent)
    await worker.run_until_idle()

    state = await endpoint(hook_client, admin, hook["id"])
    assert state["active"] is False
    assert state["disabled_reason"] == "the receiver answered 410 Gone"
    rows = await deliveries(hook_client, admin, hook["id"])
    assert {(d["status"], d["response_code"]) for d in rows} <= {("dead", 410), ("dead", None)}
    assert len(rows) == 2
    notices = await sql(
        sessionmaker,
        "SELECT recipient_id, payload FROM notification_deliveries "
        "WHERE payload -> 'notices' -> 0 ->> 'kind' = 'webhook.disabled' ORDER BY recipient_id",
    )
    assert [r.recipient_id for r in notices] == [admin.id, italian.id]  # once each, active only
    assert notices[0].payload["notices"][0]["data"]["reason"] == "gone"

    await file_ticket(hook_client, agent)
    assert len(await deliveries(hook_client, admin, hook["id"])) == 2  # nothing more queued

    await worker.run_until_idle()  # the admins' mail
    [english] = _mail_to(mailbox, admin.email)
    assert f"Webhook #{hook['id']} ({receiver.url()}) has been disabled" in english
    assert "410 Gone" in english
    [italiano] = _mail_to(mailbox, italian.email)
    assert f"Il webhook #{hook['id']}" in italiano
    assert _mail_to(mailbox, departed.email) == []


async def test_an_endpoint_failing_for_longer_than_the_window_is_disabled(
    hook_client: httpx.AsyncClient,
    actors: Actors,
    receiver: Receiver,
    worker: DeliveryWorker,
    sessionmaker: Maker,
) -> None:
    admin, agent = await actors.admin(), await actors.agent()
    old = await create_webhook(hook_client, admin, receiver.url("/old"))
    recent = await create_webhook(hook_client, admin, receiver.url("/recent"))
    for webhook_id, hours in ((old["id"], 73), (recent["id"], 71)):
        await sql(
            sessionmaker,
            "UPDATE webhook_endpoints SET failing_since = now() - make_interval(hours => :h) "
            "WHERE id = :id",
            h=hours,
            id=webhook_id,
        )
    receiver.default = Reply(503, body=b"maintenance")
    await file_ticket(hook_client, agent)
    await worker.run_until_idle()

    disabled = await endpoint(hook_client, admin, old["id"])
    assert disabled["active"] is False
    assert disabled["disabled_reason"] == "every delivery failed for over 72 hours"
    still = await endpoint(hook_client, admin, recent["id"])
    assert still["active"] is True
    assert still["disabled_reason"] is None
    notices = await sql(
        sessionmaker,
        "SELECT payload FROM notification_deliveries WHERE recipient_id = :id",
        id=admin.id,
    )
    [notice] = [n for r in notices for n in r.payload["notices"]]
    assert notice["kind"] == "webhook.disabled"
    assert notice["data"]["webhook_id"] == old["id"]
    assert notice["data"]["reason"] == "failing"


async def test_a_delivered_or_dead_delivery_can_be_redelivered_with_its_webhook_id(
    hook_client: httpx.AsyncClient,
    actors: Actors,
    receiver: Receiver,
    worker: DeliveryWorker,
    sessionmaker: Maker,
) -> None:
    admin, agent = await actors.admin(), await actors.agent()
    hook = await create_webhook(hook_client, admin, receiver.url())
    await file_ticket(hook_client, agent)
    await sql(sessionmaker, "UPDATE notification_deliveries SET max_attempts = 1")
    receiver.script(Reply(500))
    await worker.run_until_idle()
    [dead] = await deliveries(hook_client, admin, hook["id"])
    assert (dead["status"], dead["attempts"]) == ("dead", 1)

    url = f"{API}/webhooks/{hook['id']}/deliveries/{dead['id']}/redeliver"
    again = expect(await hook_client.post(url, headers=admin.headers), 200)
    assert (again["status"], again["attempts"], again["max_attempts"]) == ("pending", 1, 11)
    assert again["idempotency_key"] == dead["idempotency_key"]
    conflict = await hook_client.post(url, headers=admin.headers)
    assert conflict.status_code == 409, conflict.text  # still on its way

    await worker.run_until_idle()
    [delivered] = await deliveries(hook_client, admin, hook["id"])
    assert (delivered["status"], delivered["attempts"]) == ("delivered", 2)
    expect(await hook_client.post(url, headers=admin.headers), 200)  # delivered: once more
    await worker.run_until_idle()
    assert receiver.ids() == [dead["idempotency_key"]] * 3
    assert len({verified(hook["secret"], r)["data"]["event"]["id"] for r in receiver.requests}) == 1


async def test_redelivery_needs_the_delivery_of_that_endpoint_and_an_active_endpoint(
    hook_client: httpx.AsyncClient,
    actors: Actors,
    receiver: Receiver,
    worker: DeliveryWorker,
) -> None:
    admin, agent = await actors.admin(), await actors.agent()
    hook = await create_webhook(hook_client, admin, receiver.url("/a"))
    other = await create_webhook(hook_client, admin, receiver.url("/b"))
    await file_ticket(hook_client, agent)
    await worker.run_until_idle()
    [delivery] = await deliveries(hook_client, admin, hook["id"])

    wrong = await hook_client.post(
        f"{API}/webhooks/{other['id']}/deliveries/{delivery['id']}/redeliver",
        headers=admin.headers,
    )
    assert wrong.status_code == 404, wrong.text
    await hook_client.patch(
        f"{API}/webhooks/{hook['id']}", json={"active": False}, headers=admin.headers
    )
    paused = await hook_client.post(
        f"{API}/webhooks/{hook['id']}/deliveries/{delivery['id']}/redeliver",
        headers=admin.headers,
    )
    assert paused.status_code == 409, paused.text
    assert "disabled" in paused.json()["detail"]


async def test_deliveries_are_listed_newest_first_in_pages(
    hook_client: httpx.AsyncClient,
    actors: Actors,
    receiver: Receiver,
    worker: DeliveryWorker,
) -> None:
    admin, agent = await actors.admin(), await actors.agent()
    hook = await create_webhook(hook_client, admin, receiver.url())
    tickets = [await file_ticket(hook_client, agent) for _ in range(3)]
    receiver.choose = lambda _path, n: Reply(500) if n == 0 else Reply(200)
    await worker.run_until_idle()

    base = f"{API}/webhooks/{hook['id']}/deliveries"
    first = expect(await hook_client.get(f"{base}?limit=2", headers=admin.headers), 200)
    rest = expect(
        await hook_client.get(
            f"{base}?limit=2&cursor={first['next_cursor']}", headers=admin.headers
        ),
        200,
    )
    items = first["items"] + rest["items"]
    assert rest["next_cursor"] is None
    assert [d["ticket_id"] for d in items] == [t["id"] for t in reversed(tickets)]
    assert sorted(d["status"] for d in items) == ["delivered", "delivered", "pending"]
    pending = expect(await hook_client.get(f"{base}?status=pending", headers=admin.headers), 200)
    assert [d["response_code"] for d in pending["items"]] == [500]
    assert json.dumps(items)  # plain JSON all the way down
    missing = await hook_client.get(f"{API}/webhooks/999999/deliveries", headers=admin.headers)
    assert missing.status_code == 404
