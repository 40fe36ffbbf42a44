"""The SMTP/LMTP receiver: mail straight from an MTA (Postfix, Exim, a relay).

It accepts mail only for the desk's own addresses (HELPDESK_INBOUND_ADDRESSES, the
reply address, the address mail is sent from, and every team's address; +tags of
them too): anything else is refused at RCPT (550), so the desk never relays. DATA is
answered 250 only after the mail's transaction committed; while the database cannot
be reached the answer is 451, a temporary failure, so the sending MTA keeps the mail
and tries again later: nothing is lost. LMTP answers once per recipient, as it must.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.inbound.mail import base_address
from app.inbound.pipeline import Arrival, Intake
from app.models import Team
from app.observability.inbound import count_intake

logger = logging.getLogger(__name__)

TEAM_ADDRESSES_TTL_SECONDS = 30.0
UNAVAILABLE = "451 4.3.0 The desk cannot record mail right now; try again later"


class DeskAddresses:
    """The addresses the receiver accepts: the configured ones, and the teams' (read
    from the database, kept for a short while; the last known set while it is away)."""

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], configured: list[str]
    ) -> None:
        self.sessionmaker = sessionmaker
        self.configured = {base_address(a) for a in configured}
        self._teams: set[str] | None = None
        self._read_at = 0.0

    async def accepts(self, address: str) -> bool | None:
        """True, False, or None when it cannot be told now (the database is away and no
        team address was ever read)."""
        wanted = base_address(address)
        if wanted in self.configured:
            return True
        teams = await self._team_addresses()
        return None if teams is None else wanted in teams

    async def _team_addresses(self) -> set[str] | None:
        if self._teams is None or time.monotonic() - self._read_at > TEAM_ADDRESSES_TTL_SECONDS:
            try:
                async with self.sessionmaker() as session:
                    rows = await session.scalars(
                        select(Team.email_address).where(Team.email_address.is_not(None))
                    )
                    self._teams = {base_address(a) for a in rows if a}
                self._read_at = time.monotonic()
            except Exception:
                logger.warning("cannot read the team addresses; using the last known ones")
        return self._teams


class IntakeHandler:
    """aiosmtpd's handler: RCPT checks the address, DATA records the mail."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        intake: Intake,
        addresses: DeskAddresses,
        *,
        lmtp: bool = False,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.intake = intake
        self.addresses = addresses
        self.lmtp = lmtp

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self,
        _server: SMTP,
        _session: Session,
        envelope: Envelope,
        address: str,
        _options: list[str],
    ) -> str:
        accepted = await self.addresses.accepts(address)
        if accepted is None:
            return UNAVAILABLE
        if not accepted:
            return f"550 5.1.1 <{address}>: no such mailbox here (this desk does not relay)"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, _server: SMTP, _session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        arrival = Arrival(raw, via="smtp", envelope_recipients=tuple(envelope.rcpt_tos))
        try:
            async with self.sessionmaker() as session, session.begin():
                result = await self.intake.take_in(session, arrival)
        except Exception:
            logger.exception("a mail could not be recorded; the sender is told to try again")
            return self._each(UNAVAILABLE, envelope)
        count_intake(result.outcome.value, repeated=result.repeated)
        return self._each(f"250 2.0.0 OK {result.outcome.value} #{result.inbound_id}", envelope)

    def _each(self, reply: str, envelope: Envelope) -> str:
        """LMTP answers DATA once per recipient."""
        if not self.lmtp:
            return reply
        return "\r\n".join([reply] * max(1, len(envelope.rcpt_tos)))


@contextlib.asynccontextmanager
async def receiving(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    intake: Intake,
    *,
    port: int | None = None,
) -> AsyncIterator[asyncio.Server]:
    """The receiver listening on HELPDESK_INBOUND_SMTP_HOST and _PORT (or `port`)."""
    handler = IntakeHandler(
        sessionmaker,
        intake,
        DeskAddresses(sessionmaker, settings.desk_addresses),
        lmtp=settings.inbound_smtp_protocol == "lmtp",
    )
    protocol: type[SMTP] = LMTP if handler.lmtp else SMTP
    options: dict[str, Any] = {
        "data_size_limit": settings.inbound_max_message_bytes,
        "enable_SMTPUTF8": True,
        "decode_data": False,
        "hostname": settings.mail_domain,
        "ident": "helpdesk",
    }
    loop = asyncio.get_running_loop()
    listen_port = port if port is not None else settings.inbound_smtp_port
    server = await loop.create_server(
        lambda: protocol(handler, loop=loop, **options),
        host=settings.inbound_smtp_host,
        port=listen_port,
        # Several processes (API workers with inline background work) may each listen.
        reuse_port=True,
    )
    logger.info("%s receiver on %s:%s", protocol.__name__, settings.inbound_smtp_host, listen_port)
    try:
        yield server
    finally:
        server.close()
        await server.wait_closed()
