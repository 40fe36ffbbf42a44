"""A `helpdesk worker` SIGKILLed in the middle of a burst of email loses nothing: once
another process has taken over, every email is delivered (at least once, with its own
Message-ID, threaded under its ticket) and only what the dead process had in hand may
have gone twice."""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import Actors
from tests.notifications.conftest import SmtpServer
from tests.webhooks.helpers import make_due, sql
from tests.worker_processes import outstanding, worker_process

Maker = async_sessionmaker[AsyncSession]
TICKETS = 80


async def test_a_worker_killed_mid_burst_loses_no_email(
    actors: Actors,
    smtp_server: SmtpServer,
    sessionmaker: Maker,
    database_url: str,
    tmp_path: Path,
) -> None:
    for _ in range(TICKETS):
        customer = await actors.customer()
        filed = await actors.client.post(
            "/api/v1/tickets",
            json={"subject": "Help", "description": "d"},
            headers=customer.headers,
        )
        assert filed.status_code == 201, filed.text
    smtp_server.handler.delay = 0.03  # a server slow enough for a backlog
    mail = {
        "HELPDESK_SMTP_HOST": "127.0.0.1",
        "HELPDESK_SMTP_PORT": str(smtp_server.port),
        "HELPDESK_SMTP_SECURITY": "none",
    }

    async with worker_process(database_url, tmp_path, "first", mail) as first:
        deadline = time.monotonic() + 30
        while len(smtp_server.handler.messages) < 15:
            assert first.process.returncode is None, first.output()
            assert time.monotonic() < deadline, first.output()
            await asyncio.sleep(0.01)
        first.process.send_signal(signal.SIGKILL)
        assert await first.process.wait() == -signal.SIGKILL
    at_kill = await outstanding(sessionmaker)
    assert at_kill.get("pending", 0) + at_kill.get("sending", 0) > 0  # mid-burst, indeed
    [(orphaned,)] = await sql(
        sessionmaker,
        "SELECT count(*) FROM notification_deliveries WHERE status = 'sending' "
        "AND leased_by LIKE :pattern",
        pattern=f"%:{first.pid}:%",
    )

    async with worker_process(database_url, tmp_path, "second", mail) as second:
        deadline = time.monotonic() + 40
        while await outstanding(sessionmaker):
            assert second.process.returncode is None, second.output()
            assert time.monotonic() < deadline, (await outstanding(sessionmaker), second.output())
            # Fast-forward: the dead process's leases run out.
            await sql(
                sessionmaker,
                "UPDATE notification_deliveries SET lease_expires_at = now() "
                "WHERE status = 'sending' AND leased_by LIKE :pattern",
                pattern=f"%:{first.pid}:%",
            )
            await make_due(sessionmaker)
            await asyncio.sleep(0.2)

    rows = await sql(
        sessionmaker, "SELECT ticket_id, status, idempotency_key FROM notification_deliveries"
    )
    assert len(rows) == TICKETS
    assert {r.status for r in rows} == {"delivered"}
    accepted = Counter(str(m["Message-ID"]) for m in smtp_server.handler.messages)
    assert set(accepted) == {r.idempotency_key for r in rows}  # each at least once
    assert sum(1 for n in accepted.values() if n > 1) <= orphaned
    for message in smtp_server.handler.messages:
        root = f"<ticket-{message['X-Helpdesk-Ticket']}@helpdesk.localhost>"
        assert (message["In-Reply-To"], message["References"]) == (root, root)
