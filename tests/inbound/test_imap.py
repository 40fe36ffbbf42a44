"""IMAP polling against a real Dovecot on loopback: mail becomes tickets, and is
flagged (or moved) only after its commit; IDLE wakes the poller; one poller per
mailbox across processes; a mailbox of 1,000 mails."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.attachments.setup import store_from_settings
from app.config import Settings
from app.inbound.mailboxes import secrets
from app.inbound.mailboxes.client import ImapSession, Login
from app.inbound.mailboxes.poller import MailboxPoller, Polling
from app.inbound.mailboxes.supervisor import MailboxSupervisor
from app.inbound.pipeline import Intake
from app.inbound.setup import email_intake
from app.models import InboundMessage, Mailbox, MailboxAuth, MailboxSecurity, Ticket
from tests.factories import Actors, make_team
from tests.inbound.dovecot import AVAILABLE, PASSWORD, SKIP_REASON, USER, Dovecot
from tests.inbound.helpers import mail

pytestmark = pytest.mark.skipif(not AVAILABLE, reason=SKIP_REASON)


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    server = Dovecot()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def intake(settings: Settings) -> Intake:
    return email_intake(settings, store_from_settings(settings))


async def _mailbox(
    client: AsyncClient, actors: Actors, dovecot: Dovecot, **fields: object
) -> dict[str, object]:
    admin = await actors.admin()
    body = {
        "name": f"Support {time.monotonic_ns()}",
        "host": "127.0.0.1",
        "port": dovecot.port,
        "security": "none",
        "username": USER,
        "password": PASSWORD,
        **fields,
    }
    response = await client.post("/api/v1/mailboxes", json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    return created


async def _poller(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    intake: Intake,
    mailbox_id: object,
) -> tuple[MailboxPoller, ImapSession]:
    async with sessionmaker() as session:
        mailbox = await session.get(Mailbox, mailbox_id)
    assert mailbox is not None
    secret = secrets.unseal(
        settings.secret_key.get_secret_value(), mailbox.name, mailbox.secret_sealed
    )
    login = Login(
        mailbox.host,
        mailbox.port,
        mailbox.security,
        mailbox.username,
        mailbox.auth,
        secret,
        mailbox.folder,
        verify_tls=False,
    )
    poller = MailboxPoller(mailbox, login, intake, sessionmaker, Polling(0.2, 5))
    imap = ImapSession(login)
    await imap.open()
    return poller, imap


async def _count(sessionmaker: async_sessionmaker[AsyncSession], model: type) -> int:  # type: ignore[type-arg]
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_unseen_mail_becomes_tickets_and_is_flagged_only_after_its_commit(
    client: AsyncClient,
    actors: Actors,
    dovecot: Dovecot,
    settings: Settings,
    intake: Intake,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    team_id = await make_team(sessionmaker, name="Mail team")
    created = await _mailbox(client, actors, dovecot, team_id=team_id)
    assert "password" not in created
    assert "secret_sealed" not in created
    for n in range(3):
        dovecot.drop(mail(sender=f"c{n}@example.com", subject=f"From IMAP {n}"))
    poller, imap = await _poller(sessionmaker, settings, intake, created["id"])
    try:
        assert await poller.drain(imap) == 3
        assert await poller.drain(imap) == 0  # flagged: not taken again
    finally:
        await imap.close()

    assert dovecot.unseen() == 0
    async with sessionmaker() as session:
        rows = (await session.execute(select(Ticket.subject, Ticket.team_id))).all()
        via = set(await session.scalars(select(InboundMessage.via)))
    assert sorted(rows) == [(f"From IMAP {n}", team_id) for n in range(3)]
    assert via == {"imap"}


async def test_a_mail_already_taken_in_is_recognised_and_flagged(
    client: AsyncClient,
    actors: Actors,
    dovecot: Dovecot,
    settings: Settings,
    intake: Intake,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    # A poller that died between a commit and its flag: the next one finds it unseen.
    raw = mail(subject="Taken twice")
    integration = await actors.integration()
    await client.post(
        "/api/v1/inbound/email",
        content=raw,
        headers={**integration.headers, "Content-Type": "message/rfc822"},
    )
    dovecot.drop(raw)
    created = await _mailbox(client, actors, dovecot)
    poller, imap = await _poller(sessionmaker, settings, intake, created["id"])
    try:
        assert await poller.drain(imap) == 1
    finally:
        await imap.close()
    assert dovecot.unseen() == 0
    assert await _count(sessionmaker, Ticket) == 1


async def test_recorded_mail_is_moved_when_asked_over_starttls(
    client: AsyncClient,
    actors: Actors,
    dovecot: Dovecot,
    settings: Settings,
    intake: Intake,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    with dovecot.client() as admin_imap:
        admin_imap.create("Done")
    created = await _mailbox(client, actors, dovecot, security="starttls", move_to="Done")
    dovecot.drop(mail(subject="Move me"))
    poller, imap = await _poller(sessionmaker, settings, intake, created["id"])
    try:
        assert await poller.drain(imap) == 1
    finally:
        await imap.close()
    assert dovecot.count("INBOX") == 0
    assert dovecot.count("Done") == 1


@pytest.fixture
async def supervisors(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    database_url: str,
    intake: Intake,
) -> AsyncIterator[list[MailboxSupervisor]]:
    polling = settings.model_copy(
        update={"inbound_imap_poll_seconds": 0.2, "inbound_imap_idle_seconds": 30}
    )
    made = [
        MailboxSupervisor(polling, sessionmaker, database_url, intake, verify_tls=False)
        for _ in range(2)
    ]
    try:
        yield made
    finally:
        for supervisor in made:
            await supervisor.stop_all()


async def _until(predicate: object, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not in time")


async def test_one_poller_per_mailbox_across_processes_and_idle_wakes_it(
    client: AsyncClient,
    actors: Actors,
    dovecot: Dovecot,
    sessionmaker: async_sessionmaker[AsyncSession],
    supervisors: list[MailboxSupervisor],
) -> None:
    await _mailbox(client, actors, dovecot)
    first, second = supervisors

    await first.look()
    await second.look()

    assert len(first.running) + len(second.running) == 1
    # The poller is waiting in IDLE: a new mail wakes it at once.
    with dovecot.client() as imap:
        imap.append("INBOX", None, None, mail(subject="Woken by IDLE"))

    async def recorded() -> bool:
        return await _count(sessionmaker, Ticket) == 1

    await _until(recorded)
    # The one holding it stops (its process died): the other takes over.
    holder, other = (first, second) if first.running else (second, first)
    await holder.stop_all()
    await other.look()
    assert len(other.running) == 1


@pytest.mark.timeout(600)
async def test_a_mailbox_of_a_thousand_mails(
    client: AsyncClient,
    actors: Actors,
    dovecot: Dovecot,
    settings: Settings,
    intake: Intake,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    for n in range(1000):
        dovecot.drop(mail(sender=f"customer{n}@example.com", subject=f"Mail {n}"))
    created = await _mailbox(client, actors, dovecot)
    poller, imap = await _poller(sessionmaker, settings, intake, created["id"])
    started = time.monotonic()
    try:
        assert await poller.drain(imap) == 1000
    finally:
        await imap.close()
    elapsed = time.monotonic() - started

    assert dovecot.unseen() == 0
    assert await _count(sessionmaker, InboundMessage) == 1000
    assert await _count(sessionmaker, Ticket) == 1000
    print(f"1,000 mails from IMAP in {elapsed:.1f} s")  # noqa: T201


async def test_mailbox_secrets_are_sealed_and_never_shown(
    client: AsyncClient,
    actors: Actors,
    dovecot: Dovecot,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    created = await _mailbox(
        client, actors, dovecot, auth="xoauth2", password=None, access_token="ya29.token"
    )
    async with sessionmaker() as session:
        mailbox = await session.get(Mailbox, created["id"])
    assert mailbox is not None
    assert b"ya29.token" not in mailbox.secret_sealed
    key = settings.secret_key.get_secret_value()
    assert secrets.unseal(key, mailbox.name, mailbox.secret_sealed) == "ya29.token"
    assert mailbox.auth is MailboxAuth.XOAUTH2
    assert mailbox.security is MailboxSecurity.NONE
