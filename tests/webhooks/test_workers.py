"""Several workers on one outbox: a webhook is sent once while its lease holds, and a
claim whose worker died is sent by another once the lease has run out."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Callable

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import DeliveryChannel
from app.notifications.channels.base import Outcome
from app.notifications.worker import DeliveryWorker
from tests.factories import Actors
from tests.webhooks.helpers import Receiver, Reply, create_webhook, deliveries, file_ticket, sql

Maker = async_sessionmaker[AsyncSession]


async def test_two_workers_on_a_burst_send_each_webhook_once(
    hook_client: httpx.AsyncClient,
    actors: Actors,
    receiver: Receiver,
    make_hook_worker: Callable[..., DeliveryWorker],
    sessionmaker: Maker,
) -> None:
    admin, agent = await actors.admin(), await actors.agent()
    for n in range(8):
        await create_webhook(hook_client, admin, receiver.url(f"/{n}"))
    for _ in range(25):
        await file_ticket(hook_client, agent)
    receiver.choose = lambda _path, _n: Reply(200, delay=random.uniform(0, 0.01))
    first, second = make_hook_worker(), make_hook_worker()

    attempted = await asyncio.gather(first.run_until_idle(), second.run_until_idle())

    assert all(count > 0 for count in attempted), attempted
    sent = Counter(receiver.ids())
    assert len(sent) == 200
    assert set(sent.values()) == {1}
    keys = await sql(
        sessionmaker,
        "SELECT idempotency_key FROM notification_deliveries "
        "WHERE channel = 'webhook' AND status = 'delivered' AND attempts = 1",
    )
    assert {k for (k,) in keys} == set(sent)
    assert Counter(r.path for r in receiver.requests) == {f"/{n}": 25 for n in range(8)}


async def test_a_claim_whose_worker_died_is_sent_by_another_after_the_lease(
    hook_client: httpx.AsyncClient,
    actors: Actors,
    receiver: Receiver,
    make_hook_worker: Callable[..., DeliveryWorker],
    sessionmaker: Maker,
) -> None:
    admin, agent = await actors.admin(), await actors.agent()
    hook = await create_webhook(hook_client, admin, receiver.url())
    await file_ticket(hook_client, agent)
    doomed, survivor = make_hook_worker(), make_hook_worker()

    claimed = [d for d in await doomed.claim() if d.channel is DeliveryChannel.WEBHOOK]
    assert len(claimed) == 1  # ... and then the process dies before sending
    assert await survivor.run_until_idle() == 0  # its lease holds
    [leased] = await deliveries(hook_client, admin, hook["id"])
    assert leased["status"] == "sending"

    await sql(
        sessionmaker,
        "UPDATE notification_deliveries SET lease_expires_at = now() - interval '1 second' "
        "WHERE leased_by = :name",
        name=doomed.name,
    )
    await survivor.run_until_idle()
    [delivery] = await deliveries(hook_client, admin, hook["id"])
    assert (delivery["status"], delivery["attempts"]) == ("delivered", 2)
    assert receiver.ids() == [delivery["idempotency_key"]]

    # Were the dead worker to wake up, it could not overwrite the outcome.
    await doomed._finish(claimed[0], Outcome(delivered=False, error="late"), 1)
    [after] = await deliveries(hook_client, admin, hook["id"])
    assert (after["status"], after["last_error"]) == ("delivered", None)
