"""Email notifications, end to end: a change commits, a worker sends, the mailbox shows it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

from httpx import AsyncClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import DeliveryStatus, NotificationDelivery
from app.notifications.worker import DeliveryWorker
from tests.factories import Actor, Actors
from tests.notifications.conftest import SmtpServer


async def _file(
    client: AsyncClient, customer: Actor, subject: str = "Printer on fire"
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/tickets",
        json={"subject": subject, "description": "It smokes."},
        headers=customer.headers,
    )
    assert response.status_code == 201, response.text
    ticket: dict[str, Any] = response.json()
    return ticket


def _text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def _html(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


async def _expire_coalescing(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Fast-forward: everything waiting is due now."""
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(NotificationDelivery)
            .where(NotificationDelivery.status == DeliveryStatus.PENDING)
            .values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1))
        )


async def test_the_requester_is_told_their_request_was_received(
    client: AsyncClient, actors: Actors, worker: DeliveryWorker, smtp_server: SmtpServer
) -> None:
    customer = await actors.customer()
    ticket = await _file(client, customer)
    assert await worker.run_until_idle() == 1
    [message] = smtp_server.handler.to(customer.email)
    assert message["Subject"] == f"[#{ticket['id']}] Printer on fire"
    assert message["Auto-Submitted"] == "auto-generated"
    assert f"#{ticket['id']}" in _text(message)


async def test_a_public_reply_reaches_the_requester_threaded_with_the_ticket(
    client: AsyncClient,
    actors: Actors,
    worker: DeliveryWorker,
    smtp_server: SmtpServer,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await _file(client, customer)
    await worker.run_until_idle()
    reply = "Please restart it.\n<b>Not bold</b> {{ 7*7 }}"
    posted = await client.post(
        f"/api/v1/tickets/{ticket['id']}/messages", json={"body": reply}, headers=agent.headers
    )
    assert posted.status_code == 201
    await _expire_coalescing(sessionmaker)
    await worker.run_until_idle()
    received, answered = smtp_server.handler.to(customer.email)
    root = f"<ticket-{ticket['id']}@helpdesk.localhost>"
    assert answered["In-Reply-To"] == root
    assert answered["References"] == root
    assert answered["Message-ID"] != received["Message-ID"]
    assert "Please restart it." in _text(answered)
    assert "{{ 7*7 }}" in _text(answered)  # never evaluated as a template
    assert "&lt;b&gt;Not bold&lt;/b&gt;" in _html(answered)  # escaped, never markup
    assert "<b>Not bold</b>" not in _html(answered)


async def test_internal_notes_never_reach_the_requester(
    client: AsyncClient,
    actors: Actors,
    worker: DeliveryWorker,
    smtp_server: SmtpServer,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    customer, agent, colleague = await actors.customer(), await actors.agent(), await actors.agent()
    ticket = await _file(client, customer)
    url = f"/api/v1/tickets/{ticket['id']}"
    await client.post(
        f"{url}/assign", json={"owner_id": colleague.id, "reason": "manual"}, headers=agent.headers
    )
    await worker.run_until_idle()
    before = len(smtp_server.handler.to(customer.email))
    note = {"body": "Customer is on the blacklist", "visibility": "internal"}
    assert (
        await client.post(f"{url}/messages", json=note, headers=agent.headers)
    ).status_code == 201
    await _expire_coalescing(sessionmaker)
    await worker.run_until_idle()
    assert len(smtp_server.handler.to(customer.email)) == before
    assert all("blacklist" not in _text(m) for m in smtp_server.handler.to(customer.email))
    [told] = [m for m in smtp_server.handler.to(colleague.email) if "blacklist" in _text(m)]
    assert "internal note" in _text(told)


async def test_a_new_contact_is_announced_with_the_reason_and_both_owners_are_told(
    client: AsyncClient,
    actors: Actors,
    worker: DeliveryWorker,
    smtp_server: SmtpServer,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    customer, supervisor = await actors.customer(), await actors.supervisor()
    marco = await actors.make(actors_role("agent"), name="Marco")
    anna = await actors.make(actors_role("agent"), name="Anna")
    ticket = await _file(client, customer)
    url = f"/api/v1/tickets/{ticket['id']}/assign"
    await client.post(
        url, json={"owner_id": marco.id, "reason": "routing"}, headers=supervisor.headers
    )
    await worker.run_until_idle()
    handover = {"owner_id": anna.id, "reason": "escalation", "note": "He called twice"}
    await client.post(url, json=handover, headers=supervisor.headers)
    await _expire_coalescing(sessionmaker)
    await worker.run_until_idle()
    latest = smtp_server.handler.to(customer.email)[-1]
    assert "Anna is now handling your request (your case was escalated)" in _text(latest)
    assert "He called twice" not in _text(latest)
    [to_anna] = smtp_server.handler.to(anna.email)
    assert "is now yours (escalation)" in _text(to_anna)
    assert "He called twice" in _text(to_anna)
    assert any("handed over to Anna" in _text(m) for m in smtp_server.handler.to(marco.email))


async def test_rapid_changes_reach_the_requester_in_one_message(
    client: AsyncClient,
    actors: Actors,
    worker: DeliveryWorker,
    smtp_server: SmtpServer,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await _file(client, customer)
    await worker.run_until_idle()  # the acknowledgement goes at once
    url = f"/api/v1/tickets/{ticket['id']}"
    for text in ("First answer", "Second thought", "One more thing"):
        await client.post(f"{url}/messages", json={"body": text}, headers=agent.headers)
    await client.post(
        f"{url}/status", json={"status": "pending", "note": "Which model?"}, headers=agent.headers
    )
    assert await worker.run_until_idle() == 0  # held back: one was just sent
    await _expire_coalescing(sessionmaker)
    assert await worker.run_until_idle() == 1
    _acknowledgement, digest = smtp_server.handler.to(customer.email)
    body = _text(digest)
    for expected in ("First answer", "Second thought", "One more thing", "Which model?"):
        assert expected in body


async def test_italian_customers_get_italian_mail(
    client: AsyncClient,
    actors: Actors,
    worker: DeliveryWorker,
    smtp_server: SmtpServer,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    admin, customer = await actors.admin(), await actors.customer()
    await client.patch(f"/api/v1/users/{customer.id}", json={"locale": "it"}, headers=admin.headers)
    await _file(client, customer)
    await worker.run_until_idle()
    [message] = smtp_server.handler.to(customer.email)
    assert "Abbiamo ricevuto la tua richiesta" in _text(message)


async def test_while_the_mail_server_refuses_deliveries_wait_and_then_go(
    client: AsyncClient,
    actors: Actors,
    worker: DeliveryWorker,
    smtp_server: SmtpServer,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    customer = await actors.customer()
    smtp_server.handler.refuse = True
    await _file(client, customer)
    await worker.run_until_idle()
    async with sessionmaker() as session:
        [delivery] = (await session.scalars(select(NotificationDelivery))).all()
    assert delivery.status is DeliveryStatus.PENDING
    assert delivery.attempts == 1
    assert delivery.last_error
    assert delivery.next_attempt_at > datetime.now(UTC) + timedelta(seconds=20)
    smtp_server.handler.refuse = False
    await _expire_coalescing(sessionmaker)
    await worker.run_until_idle()
    assert len(smtp_server.handler.to(customer.email)) == 1
    async with sessionmaker() as session:
        sent = await session.get(NotificationDelivery, delivery.id)
    assert sent is not None
    assert sent.status is DeliveryStatus.DELIVERED
    assert sent.attempts == 2


async def test_after_the_last_attempt_a_delivery_is_dead_visible_and_retriable(
    client: AsyncClient,
    actors: Actors,
    worker: DeliveryWorker,
    smtp_server: SmtpServer,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    customer, supervisor = await actors.customer(), await actors.supervisor()
    smtp_server.handler.refuse = True
    ticket = await _file(client, customer)
    async with sessionmaker() as session, session.begin():
        await session.execute(update(NotificationDelivery).values(max_attempts=2))
    await worker.run_until_idle()
    await _expire_coalescing(sessionmaker)
    await worker.run_until_idle()
    listed = await client.get(
        f"/api/v1/tickets/{ticket['id']}/notifications", headers=supervisor.headers
    )
    [dead] = listed.json()["items"]
    assert dead["status"] == "dead"
    assert dead["attempts"] == 2
    assert "451" in dead["last_error"]
    smtp_server.handler.refuse = False
    retried = await client.post(
        f"/api/v1/notifications/{dead['id']}/retry", headers=supervisor.headers
    )
    assert retried.status_code == 200
    assert retried.json()["status"] == "pending"
    await worker.run_until_idle()
    assert len(smtp_server.handler.to(customer.email)) == 1
    denied = await client.get(
        f"/api/v1/tickets/{ticket['id']}/notifications", headers=customer.headers
    )
    assert denied.status_code == 403


def actors_role(name: str) -> Any:
    from app.models import Role

    return Role(name)
