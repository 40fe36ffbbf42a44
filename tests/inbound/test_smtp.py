"""The SMTP/LMTP receiver: only the desk's addresses, 250 only once committed, 451
while the database is away (the MTA tries again, and nothing is lost)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiosmtplib
import asyncpg
import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import wiring
from app.attachments.setup import store_from_settings
from app.config import Settings
from app.db import asyncpg_connect_args, create_engine
from app.inbound.setup import email_intake
from app.inbound.smtp import receiving
from app.migrations import upgrade_to_head
from app.models import InboundMessage, Ticket
from tests import database
from tests.factories import Actors, make_team
from tests.inbound.helpers import mail
from tests.live.conftest import free_port


@pytest.fixture
async def receiver(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[int]:
    port = free_port()
    intake = email_intake(settings, store_from_settings(settings))
    async with receiving(settings, sessionmaker, intake, port=port):
        yield port


async def _send(port: int, raw: bytes, *recipients: str, lmtp: bool = False) -> None:
    await aiosmtplib.send(
        raw,
        sender="ada@example.com",
        recipients=list(recipients),
        hostname="127.0.0.1",
        port=port,
        timeout=10,
    )


async def test_mail_for_the_desk_is_recorded_before_the_250(
    receiver: int, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await _send(receiver, mail(subject="Over SMTP"), "support@desk.example")

    async with sessionmaker() as session:
        subjects = list(await session.scalars(select(Ticket.subject)))
    assert subjects == ["Over SMTP"]


async def test_the_desk_does_not_relay(
    receiver: int, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await _send(receiver, mail(), "someone@elsewhere.example")
    assert refused.value.recipients[0].code == 550
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(InboundMessage)) == 0


async def test_a_teams_address_routes_to_that_team(
    receiver: int,
    actors: Actors,
    client: AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    admin = await actors.admin()
    team_id = await make_team(sessionmaker, name="Billing")
    patched = await client.patch(
        f"/api/v1/teams/{team_id}",
        json={"email_address": "Billing@Desk.example"},
        headers=admin.headers,
    )
    assert patched.json()["email_address"] == "billing@desk.example"

    await _send(receiver, mail(to="billing@desk.example"), "billing+invoices@desk.example")

    async with sessionmaker() as session:
        assert list(await session.scalars(select(Ticket.team_id))) == [team_id]


async def test_while_the_database_is_away_the_answer_is_451_and_the_retry_is_recorded_once(
    settings: Settings, database_url: str
) -> None:
    # A database of its own, made unreachable: the other tests' connections stay whole.
    url = await database.create_database(database_url)
    await asyncio.to_thread(upgrade_to_head, url)
    name = make_url(url).database
    admin_args = asyncpg_connect_args(
        make_url(url).set(database="postgres").render_as_string(False)
    )
    engine = create_engine(settings, url)
    maker = wiring.sessionmaker_for(engine)
    port = free_port()
    raw = mail(subject="Sent while the database was down")
    try:
        async with receiving(
            settings, maker, email_intake(settings, store_from_settings(settings)), port=port
        ):
            admin = await asyncpg.connect(**admin_args)
            try:
                await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
                await admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                    name,
                )
                with pytest.raises(aiosmtplib.SMTPResponseException) as deferred:
                    await _send(port, raw, "support@desk.example")
                assert deferred.value.code == 451
                await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            finally:
                await admin.close()
            await _send(port, raw, "support@desk.example")  # the MTA's retry
            await _send(port, raw, "support@desk.example")  # and one more, for good measure
        async with maker() as session:
            assert list(await session.scalars(select(Ticket.subject))) == [
                "Sent while the database was down"
            ]
    finally:
        await engine.dispose()
        await database.drop_database(url)


async def test_lmtp_answers_once_per_recipient(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    lmtp_settings = settings.model_copy(update={"inbound_smtp_protocol": "lmtp"})
    port = free_port()
    intake = email_intake(lmtp_settings, store_from_settings(lmtp_settings))
    async with receiving(lmtp_settings, sessionmaker, intake, port=port):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)

        async def say(line: bytes) -> list[bytes]:
            writer.write(line + b"\r\n")
            return await _reply(reader)

        await _reply(reader)  # the greeting
        await say(b"LHLO mta.example")
        await say(b"MAIL FROM:<ada@example.com>")
        assert (await say(b"RCPT TO:<support@desk.example>"))[0].startswith(b"250")
        assert (await say(b"RCPT TO:<stranger@else.example>"))[0].startswith(b"550")
        assert (await say(b"RCPT TO:<support+x@desk.example>"))[0].startswith(b"250")
        assert (await say(b"DATA"))[0].startswith(b"354")
        writer.write(mail(subject="Over LMTP").replace(b"\n", b"\r\n") + b"\r\n.\r\n")
        answers = [await _reply(reader), await _reply(reader)]
        writer.close()
    assert [a[0][:3] for a in answers] == [b"250", b"250"]  # one per accepted recipient
    async with sessionmaker() as session:
        assert list(await session.scalars(select(Ticket.subject))) == ["Over LMTP"]


async def _reply(reader: asyncio.StreamReader) -> list[bytes]:
    lines = []
    while True:
        line = await asyncio.wait_for(reader.readline(), 10)
        lines.append(line)
        if line[3:4] != b"-":
            return lines
