"""A `helpdesk worker` process killed with SIGKILL in the middle of a burst loses nothing:
once another process has taken over, every webhook delivery is delivered (at least once,
with the same webhook-id) or dead, and visible through the API."""

from __future__ import annotations

import asyncio
import random
import signal
import time
from collections import Counter
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook

from tests.factories import Actors
from tests.webhooks.helpers import (
    JSON,
    Receiver,
    Reply,
    create_webhook,
    deliveries,
    file_ticket,
    make_due,
    sql,
)
from tests.worker_processes import outstanding, worker_process

Maker = async_sessionmaker[AsyncSession]
ENDPOINTS = 10
TICKETS = 30  # 300 webhook deliveries (and 30 acknowledgements by email)


async def test_a_worker_killed_mid_burst_loses_no_webhook(
    hook_client: httpx.AsyncClient,
    actors: Actors,
    receiver: Receiver,
    sessionmaker: Maker,
    database_url: str,
    tmp_path: Path,
) -> None:
    admin, agent = await actors.admin(), await actors.agent()
    hooks: dict[str, JSON] = {}
    for n in range(ENDPOINTS):
        hook = await create_webhook(hook_client, admin, receiver.url(f"/{n}"))
        hooks[f"/{n}"] = hook
    # A receiver slow enough for a backlog, and failing now and then.
    receiver.choose = lambda _path, count: (
        Reply(500) if count % 7 == 3 else Reply(200, delay=random.uniform(0.005, 0.02))
    )

    async with worker_process(database_url, tmp_path, "first") as first:
        for _ in range(TICKETS):
            await file_ticket(hook_client, agent)
        deadline = time.monotonic() + 30
        while len(receiver.requests) < 100:
            assert first.process.returncode is None, first.output()
            assert time.monotonic() < deadline, (len(receiver.requests), first.output())
            await asyncio.sleep(0.02)
        first.process.send_signal(signal.SIGKILL)
        assert await first.process.wait() == -signal.SIGKILL
    at_kill = await outstanding(sessionmaker)
    assert at_kill.get("pending", 0) + at_kill.get("sending", 0) > 0  # mid-burst, indeed
    orphaned = await sql(
        sessionmaker,
        "SELECT count(*) FROM notification_deliveries WHERE status = 'sending' "
        "AND leased_by LIKE :pattern",
        pattern=f"%:{first.pid}:%",
    )

    async with worker_process(database_url, tmp_path, "second") as second:
        deadline = time.monotonic() + 40
        while await outstanding(sessionmaker):
            assert second.process.returncode is None, second.output()
            assert time.monotonic() < deadline, (await outstanding(sessionmaker), second.output())
            # Fast-forward: the dead process's leases run out, retries fall due.
            await sql(
                sessionmaker,
                "UPDATE notification_deliveries SET lease_expires_at = now() "
                "WHERE status = 'sending' AND leased_by LIKE :pattern",
                pattern=f"%:{first.pid}:%",
            )
            await make_due(sessionmaker)
            await asyncio.sleep(0.2)

    rows = await sql(
        sessionmaker,
        "SELECT id, webhook_id, status, idempotency_key, attempts FROM notification_deliveries "
        "WHERE channel = 'webhook'",
    )
    assert len(rows) == ENDPOINTS * TICKETS
    assert {r.status for r in rows} <= {"delivered", "dead"}
    accepted = Counter(receiver.ids(answered=200))
    for row in rows:
        if row.status == "delivered":
            assert accepted[row.idempotency_key] >= 1, row
    known = {r.idempotency_key for r in rows}
    assert set(receiver.ids()) <= known  # nothing sent that was not in the outbox
    for request in receiver.requests:
        Webhook(hooks[request.path]["secret"]).verify(request.body, request.headers)
    visible = 0
    for hook in hooks.values():
        for delivery in await deliveries(hook_client, admin, hook["id"]):
            assert delivery["status"] in ("delivered", "dead")
            visible += 1
    assert visible == len(rows)
    repeats = sum(1 for count in accepted.values() if count > 1)
    # Only what the killed process had in hand may have gone twice.
    assert repeats <= orphaned[0][0], (repeats, orphaned)
