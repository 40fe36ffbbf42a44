"""A real `helpdesk serve` process, used as a company would: an agent goes away with
tickets open, comes back a few seconds later, and a target is missed meanwhile.

Everything runs as deployed: the scheduler, the SLA watcher and the delivery workers
inside the service, on their own timers (set short), and mail to the file mailbox.
Nothing here calls into the service's code; the test sees only HTTP and the mailbox.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest

from tests import database
from tests.foundation.test_cli import helpdesk
from tests.service_process import serving

API = "/api/v1"
T = TypeVar("T")


class Service:
    def __init__(self, base_url: str, mailbox: Path, database_url: str) -> None:
        self.base_url = base_url
        self.mailbox = mailbox
        self.database_url = database_url

    def texts_to(self, address: str) -> list[str]:
        texts = []
        for path in sorted((self.mailbox / address).glob("*.eml")):
            parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            assert isinstance(parsed, EmailMessage)
            body = parsed.get_body(preferencelist=("plain",))
            assert body is not None
            texts.append(body.get_content())
        return texts


@pytest.fixture
async def service(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[Service, str]]:
    """The service on a database of its own, and an admin token."""
    url = await database.create_database(database_url)
    env = {
        "HELPDESK_DATABASE_URL": url,
        "HELPDESK_DATA_DIR": str(tmp_path),
        "HELPDESK_CONTINUITY_SCHEDULER_INTERVAL_SECONDS": "0.5",
        "HELPDESK_SLA_CHECK_INTERVAL_SECONDS": "0.5",
        "HELPDESK_NOTIFICATION_POLL_INTERVAL_SECONDS": "0.2",
        "HELPDESK_NOTIFICATION_COALESCE_SECONDS": "0",
        "HELPDESK_LOG_LEVEL": "warning",
    }
    admin = await helpdesk("create-admin", "--email", "boss@example.com", "--name", "Boss", **env)
    assert admin.code == 0, admin.stderr
    token = admin.stdout.strip().splitlines()[-1]  # the last line is the token, alone
    try:
        async with serving(env, tmp_path / "serve.log") as base_url:
            yield Service(base_url, tmp_path / "mailbox", url), token
    finally:
        await database.drop_database(url)


async def _eventually(check: Callable[[], Awaitable[T]], within: float = 15) -> T:
    deadline = time.monotonic() + within
    while True:
        result = await check()
        if result:
            return result
        assert time.monotonic() < deadline, "the service did not get there in time"
        await asyncio.sleep(0.2)


class Person:
    def __init__(self, http: httpx.AsyncClient, user: dict[str, Any], token: str) -> None:
        self.http, self.id, self.email, self.token = http, user["id"], user["email"], token

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        response = await self.http.request(method, API + path, headers=headers, **kwargs)
        assert response.is_success, response.text
        return response.json() if response.content else None


async def _person(admin: Person, name: str, role: str) -> Person:
    user = await admin.call(
        "POST", "/users", json={"email": f"{name.lower()}@example.com", "name": name, "role": role}
    )
    token = await admin.call("POST", f"/users/{user['id']}/tokens", json={"name": "journey"})
    return Person(admin.http, user, token["token"])


async def test_away_and_back_with_the_customer_told_each_time_and_a_missed_target_flagged(
    service: tuple[Service, str],
) -> None:
    desk, admin_token = service
    async with httpx.AsyncClient(base_url=desk.base_url, timeout=10) as http:
        me = await http.get(f"{API}/me", headers={"Authorization": f"Bearer {admin_token}"})
        admin = Person(http, me.json(), admin_token)
        marco = await _person(admin, "Marco", "agent")
        anna = await _person(admin, "Anna", "agent")
        giulia = await _person(admin, "Giulia", "customer")

        ticket = await giulia.call(
            "POST", "/tickets", json={"subject": "Invoice wrong", "description": "Twice billed."}
        )
        await admin.call(
            "POST",
            f"/tickets/{ticket['id']}/assign",
            json={"owner_id": marco.id, "reason": "manual"},
        )
        await _eventually(lambda: _told(desk, giulia, "Marco"))  # who handles it now

        # Marco is off sick from now until a few seconds from now, Anna covering.
        back = datetime.now(UTC) + timedelta(seconds=10)
        await marco.call(
            "POST",
            f"/users/{marco.id}/absences",
            json={
                "starts_at": datetime.now(UTC).isoformat(),
                "ends_at": back.isoformat(),
                "reason": "sick_leave",
                "backup_id": anna.id,
            },
        )

        async def owner() -> int | None:
            seen = await giulia.call("GET", f"/tickets/{ticket['id']}")
            return seen["owner"]["id"] if seen["owner"] else None

        await _eventually(lambda: _equals(owner, anna.id), within=5)
        portal = await giulia.call("GET", f"/tickets/{ticket['id']}")
        assert portal["owner"]["name"] == "Anna"
        assert portal["last_owner_change"]["reason"] == "unavailability"
        await _eventually(lambda: _told(desk, giulia, "Anna is now handling your request"))

        # The first-response target passes while Anna has it: the watcher flags it.
        connection = await asyncpg.connect(desk.database_url.replace("+asyncpg", ""))
        try:
            await connection.execute(
                # Time passing moves the target's warning time (stored with it) past too.
                "UPDATE tickets SET first_response_due_at = now() - interval '1 minute', "
                "first_response_warn_at = now() - interval '2 minutes' WHERE id = $1",
                ticket["id"],
            )
        finally:
            await connection.close()

        async def flagged() -> bool:
            events = await anna.call("GET", f"/tickets/{ticket['id']}/events")
            return any(e["kind"] == "sla.breached" for e in events["items"])

        await _eventually(flagged, within=5)
        customer_view = await giulia.call("GET", f"/tickets/{ticket['id']}/events")
        assert not any(e["kind"].startswith("sla.") for e in customer_view["items"])

        # Marco is back: the ticket returns to him, and Giulia hears it once.
        await _eventually(lambda: _equals(owner, marco.id), within=15)
        await _eventually(lambda: _told(desk, giulia, "Marco is back"))
        texts = "\n".join(desk.texts_to(giulia.email))
        assert texts.count("Marco is away until") == 1
        assert texts.count("Marco is back") == 1
        assert "sick" not in texts.lower()
        assert any("missed" in t for t in desk.texts_to(anna.email))


async def _told(desk: Service, person: Person, words: str) -> bool:
    return any(words in text for text in desk.texts_to(person.email))


async def _equals(read: Callable[[], Awaitable[Any]], expected: Any) -> bool:
    return bool(await read() == expected)
