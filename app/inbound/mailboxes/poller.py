"""One mailbox's poller: take in the unseen mail, one message per transaction, and flag
(or move) each only after its commit; then wait with IDLE, or sleep when the server
has no IDLE. A mail whose commit failed (the database is away) stays unseen, so the
next round takes it again; one taken twice is recognised by its Message-ID."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.inbound.mailboxes.client import ImapError, ImapSession, Login
from app.inbound.pipeline import Arrival, Intake
from app.models import Mailbox
from app.observability.inbound import count_intake

logger = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class Polling:
    poll_seconds: float
    idle_seconds: float


class MailboxPoller:
    def __init__(
        self,
        mailbox: Mailbox,
        login: Login,
        intake: Intake,
        sessionmaker: async_sessionmaker[AsyncSession],
        polling: Polling,
    ) -> None:
        self.mailbox_id = mailbox.id
        self.team_id = mailbox.team_id
        self.move_to = mailbox.move_to
        self.login = login
        self.intake = intake
        self.sessionmaker = sessionmaker
        self.polling = polling
        self.taken = 0  # mails recorded (or recognised) and flagged by this poller

    async def run(self) -> None:
        backoff = 1.0
        while True:
            imap = ImapSession(self.login)
            try:
                await imap.open()
                await self._note(None)
                backoff = 1.0
                while True:
                    await self.drain(imap)
                    if imap.can_idle:
                        await imap.wait_for_mail(self.polling.idle_seconds)
                    else:
                        await asyncio.sleep(self.polling.poll_seconds)
            except ImapError as error:
                logger.warning("mailbox %s: %s", self.mailbox_id, error)
                await self._note(str(error))
            except _DatabaseAway:
                pass
            finally:
                await imap.close()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    async def drain(self, imap: ImapSession) -> int:
        """Take in every unseen mail; returns how many were taken."""
        taken = 0
        for uid in await imap.unseen():
            raw = await imap.fetch(uid)
            if raw is None:
                continue
            arrival = Arrival(
                raw, via="imap", mailbox_id=self.mailbox_id, mailbox_team_id=self.team_id
            )
            try:
                async with self.sessionmaker() as session, session.begin():
                    result = await self.intake.take_in(session, arrival)
            except Exception as error:
                logger.exception("mailbox %s: a mail could not be taken in", self.mailbox_id)
                raise _DatabaseAway from error
            count_intake(result.outcome.value, repeated=result.repeated)
            await imap.done_with(uid, self.move_to)
            taken += 1
        self.taken += taken
        return taken

    async def _note(self, error: str | None) -> None:
        now = datetime.now(UTC)
        values: dict[str, object] = {"last_polled_at": now, "last_error": error}
        if error is not None:
            values["last_error_at"] = now
        try:
            async with self.sessionmaker() as session, session.begin():
                await session.execute(
                    update(Mailbox).where(Mailbox.id == self.mailbox_id).values(**values)
                )
        except Exception:
            logger.warning("mailbox %s: cannot record its state", self.mailbox_id)


class _DatabaseAway(Exception):
    """A mail could not be committed: it stays unseen, and the poller tries later."""
