"""What may leave the desk by webhook, when a redelivery is retried, how admins are told."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.notifications.worker import DeliveryWorker
from tests.factories import Actors
from tests.webhooks.helpers import (
    API,
    Receiver,
    Reply,
    create_webhook,
    deliveries,
    expect,
    file_ticket,
    sql,
)

Maker = async_sessionmaker[AsyncSession]


async def test_internal_events_go_only_to_endpoints_that_ask_for_them(
    hook_client: httpx.AsyncClient,
    actors: Actors,
    receiver: Receiver,
    worker: DeliveryWorker,
) -> None:
    admin, agent = await actors.admin(), await actors.agent()
    everything = await create_webhook(hook_client, admin, receiver.url("/public"))
    assert everything["include_internal"] is False
    trusted = await create_webhook(
        hook_client, admin, receiver.url("/trusted"), include_internal=True
    )
    ticket = await file_ticket(hook_client, agent)
    url = f"{API}/tickets/{ticket['id']}"
    note = {"body": "Customer is on the blacklist", "visibility": "internal"}
    expect(await hook_client.post(f"{url}/messages", json=note, headers=agent.headers), 201)
    expect(await hook_client.patch(url, json={"urgency": "high"}, headers=agent.headers), 200)
    reply = {"body": "We are on it.", "visibility": "public"}
    expect(await hook_client.post(f"{url}/messages", json=reply, headers=agent.headers), 201)
    await worker.run_until_idle()

    def seen(path: str) -> list[tuple[str, str]]:
        return [
            (r.json()["type"], r.json()["data"]["event"]["visibility"])
            for r in receiver.requests
            if r.path == path
        ]

    internal = {
        ("message.created", "internal"),
        ("ticket.updated", "internal"),
        ("ticket.priority_changed", "internal"),
    }
    assert internal <= set(seen("/trusted"))
    assert ("message.created", "public") in seen("/public")
    # The same events, less the internal ones.
    assert sorted(seen("/public")) == sorted(e for e in seen("/trusted") if e not in internal)
    assert all(b"blacklist" not in r.body for r in receiver.requests if r.path == "/public")
    assert len(await deliveries(hook_client, admin, everything["id"])) == len(seen("/public"))
    assert len(await deliveries(hook_client, admin, trusted["id"])) == len(seen("/trusted"))

    patched = await hook_client.patch(
        f"{API}/webhooks/{everything['id']}", json={"include_internal": True}, headers=admin.headers
    )
    assert expect(patched, 200)["include_internal"] is True
    nulled = await hook_client.patch(
        f"{API}/webhooks/{everything['id']}", json={"include_internal": None}, headers=admin.headers
    )
    assert nulled.status_code == 422, nulled.text


async def test_a_redelivery_that_fails_is_retried_after_the_shortest_delay(
    hook_client: httpx.AsyncClient,
    actors: Actors,
    receiver: Receiver,
    worker: DeliveryWorker,
) -> None:
    admin, agent = await actors.admin(), await actors.agent()
    hook = await create_webhook(hook_client, admin, receiver.url())
    await file_ticket(hook_client, agent)
    await worker.run_until_idle()
    [delivered] = await deliveries(hook_client, admin, hook["id"])
    assert (delivered["status"], delivered["attempts"]) == ("delivered", 1)

    url = f"{API}/webhooks/{hook['id']}/deliveries/{delivered['id']}/redeliver"
    expect(await hook_client.post(url, headers=admin.headers), 200)
    receiver.script(Reply(500))
    await worker.run_until_idle()
    [failed] = await deliveries(hook_client, admin, hook["id"])
    assert (failed["status"], failed["attempts"]) == ("pending", 2)
    wait = datetime.fromisoformat(failed["next_attempt_at"]) - datetime.now(UTC)
    # The first retry of a round is ~5 s, not the second attempt's 5 minutes.
    assert wait < timedelta(seconds=7), wait


async def test_admins_hear_of_a_disabled_webhook_under_the_integrations_topic(
    hook_client: httpx.AsyncClient,
    actors: Actors,
    receiver: Receiver,
    worker: DeliveryWorker,
    sessionmaker: Maker,
    mailbox: Path,
) -> None:
    busy, quiet, agent = await actors.admin(), await actors.admin(), await actors.agent()
    for admin, topic in ((busy, "activity"), (quiet, "integrations")):
        silenced = await hook_client.put(
            f"{API}/users/{admin.id}/notification-preferences",
            json={"preferences": {topic: []}},
            headers=admin.headers,
        )
        expect(silenced, 200)
    hook = await create_webhook(hook_client, busy, receiver.url())
    receiver.default = Reply(410)
    await file_ticket(hook_client, agent)
    await worker.run_until_idle()
    await worker.run_until_idle()  # the admins' mail

    notices = await sql(
        sessionmaker,
        "SELECT recipient_id, payload -> 'notices' -> 0 ->> 'topic' AS topic "
        "FROM notification_deliveries WHERE payload -> 'notices' -> 0 ->> 'kind' = "
        "'webhook.disabled'",
    )
    # Silencing ticket activity does not silence this; silencing integrations does.
    assert [(n.recipient_id, n.topic) for n in notices] == [(busy.id, "integrations")]
    [mail] = [p.read_text() for p in (mailbox / busy.email).glob("*.eml")]
    assert f"Webhook #{hook['id']}" in mail
    assert not (mailbox / quiet.email).exists()
