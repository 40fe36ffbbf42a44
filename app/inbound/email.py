"""The email channel: raw RFC 5322 bytes to the core's `IncomingMessage`.

Parsing is app/inbound/mail's (never raising); here a mail is judged: the desk's own
mail coming back (a loop) is ignored, a bounce marks the delivery it reports on, and
anything else is threaded and recorded by the core, with what it is (a person, an
automatic answer, a machine) and the hints it carries (In-Reply-To and References,
the `[#123]` subject tag, a per-ticket reply address when one is configured).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.attachments.records import NewAttachment
from app.config import Settings
from app.inbound import recording, threads
from app.inbound.bounces import record_bounce
from app.inbound.identify import EMAIL
from app.inbound.intake import (
    Decision,
    IncomingFile,
    IncomingMessage,
    Refused,
    SenderIdentity,
    Sent,
    ThreadHints,
)
from app.inbound.mail import (
    MailAddress,
    MailClassification,
    MailKind,
    MailLimits,
    ParsedMail,
    base_address,
    classify,
    limits_from_settings,
    loop_reason,
    parse_mail,
    ticket_id_from_message_id,
    ticket_id_from_recipients,
    ticket_id_from_subject,
)
from app.inbound.pipeline import Arrival, Reading
from app.models import Channel, IntakeOutcome, Team

# Mails larger than this are parsed in a worker thread, so a 20 MB mail does not hold
# up the event loop (and the requests it serves) for a third of a second.
PARSE_IN_THREAD_ABOVE = 256 * 1024
# A team address set through the API routes mail within this many seconds.
TEAMS_TTL_SECONDS = 10.0
_SENT = {
    MailKind.PERSONAL: Sent.PERSON,
    MailKind.AUTO_REPLY: Sent.AUTO_REPLY,
    MailKind.AUTOMATED: Sent.AUTOMATED,
}


@dataclass(frozen=True, slots=True)
class EmailSettings:
    desk_addresses: tuple[str, ...]
    mail_domain: str
    limits: MailLimits
    search_config: str
    plus_addressing: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> EmailSettings:
        return cls(
            desk_addresses=tuple(settings.desk_addresses),
            mail_domain=settings.mail_domain,
            limits=limits_from_settings(settings),
            search_config=settings.search_config,
            plus_addressing=settings.inbound_reply_address is not None,
        )


@dataclass(frozen=True, slots=True)
class _Judged:
    mail: ParsedMail
    classification: MailClassification
    loop: str | None


class EmailAdapter:
    channel = "email"

    def __init__(self, settings: EmailSettings) -> None:
        self.settings = settings
        self._teams: dict[str, int] = {}
        self._teams_read_at = -TEAMS_TTL_SECONDS

    async def _team_addresses(self, session: AsyncSession) -> dict[str, int]:
        """Every team's address, read again every few seconds rather than per mail."""
        if time.monotonic() - self._teams_read_at >= TEAMS_TTL_SECONDS:
            rows = await session.execute(
                select(Team.email_address, Team.id).where(Team.email_address.is_not(None))
            )
            self._teams = {base_address(a): team_id for a, team_id in rows if a}
            self._teams_read_at = time.monotonic()
        return self._teams

    async def read(self, raw: bytes, arrival: Arrival) -> Reading:
        limits = self.settings.limits
        if len(raw) > PARSE_IN_THREAD_ABOVE:
            parsed = await asyncio.to_thread(parse_mail, raw, limits)
        else:
            parsed = parse_mail(raw, limits)
        if not isinstance(parsed, ParsedMail):
            return Reading(
                external_id=f"sha256-{parsed.content_hash}@content-hash.invalid",
                sender=None,
                subject=None,
                refused=Refused(parsed.reason.value, parsed.detail),
            )
        classification = classify(parsed)
        loop = loop_reason(parsed, self.settings.desk_addresses, self.settings.mail_domain)
        sender = parsed.sender.normalized if parsed.sender is not None else None
        bounce = classification.kind is MailKind.BOUNCE
        files: Sequence[IncomingFile] = ()
        if loop is None and not bounce:
            files = [
                IncomingFile(a.filename, a.content_type, a.content, a.disposition == "inline")
                for a in parsed.attachments
            ]
        return Reading(
            external_id=parsed.message_id,
            sender=sender,
            subject=parsed.subject,
            refused=None
            if sender is not None or bounce or loop
            else Refused("no_sender", "the message names no sender (From, Sender, Return-Path)"),
            files=files,
            payload=_Judged(parsed, classification, loop),
            counts_for_rate=not bounce,
        )

    async def record(
        self,
        session: AsyncSession,
        reading: Reading,
        arrival: Arrival,
        files: Sequence[NewAttachment],
    ) -> Decision:
        judged = reading.payload
        assert isinstance(judged, _Judged)
        mail = judged.mail
        if judged.loop is not None:
            return Decision(IntakeOutcome.IGNORED, reason=judged.loop, reason_code="loop")
        report = judged.classification.bounce
        if report is not None:
            return await record_bounce(session, report)
        assert mail.sender is not None
        recipients = [*arrival.envelope_recipients, *(a.address for a in mail.recipients)]
        known = await self._team_addresses(session)
        teams = {
            base_address(a): known[base_address(a)]
            for a in [mail.sender.address, *recipients]
            if base_address(a) in known
        }
        if base_address(mail.sender.address) in teams:
            return Decision(
                IntakeOutcome.IGNORED,
                reason=f"sent from the team address {mail.sender.address}",
                reason_code="loop",
            )
        team_id = next(
            (teams[base_address(r)] for r in recipients if base_address(r) in teams),
            arrival.mailbox_team_id,
        )
        message = IncomingMessage(
            channel=Channel.EMAIL,
            sender=SenderIdentity(EMAIL, mail.sender.normalized, mail.sender.name),
            subject=mail.subject,
            body=mail.reply.new_text,
            full_text=mail.text,
            sent=_SENT.get(judged.classification.kind, Sent.AUTOMATED),
            hints=self._hints(mail, arrival),
            addressed=tuple(
                SenderIdentity(EMAIL, a.normalized, a.name)
                for a in (*mail.to, *mail.cc)
                if base_address(a.address) not in self.settings.desk_addresses
                and base_address(a.address) not in teams
            ),
            team_id=team_id,
            sent_at=mail.date,
        )
        domain = self.settings.mail_domain
        candidates = await threads.candidates(
            session,
            self.channel,
            message.hints,
            lambda reference: ticket_id_from_message_id(reference, domain),
        )
        return await recording.deliver(
            session,
            message,
            search_config=self.settings.search_config,
            files=files,
            candidates=candidates,
        )

    def _hints(self, mail: ParsedMail, arrival: Arrival) -> ThreadHints:
        references = (*mail.in_reply_to, *reversed(mail.references))
        named: list[tuple[int, str]] = []
        tagged = ticket_id_from_subject(mail.subject)
        if tagged is not None:
            named.append((tagged, "subject_tag"))
        if self.settings.plus_addressing:
            envelope = [MailAddress(r) for r in arrival.envelope_recipients]
            addressed = ticket_id_from_recipients(
                [*envelope, *mail.recipients], self.settings.desk_addresses
            )
            if addressed is not None:
                named.append((addressed, "reply_address"))
        return ThreadHints(references=references, ticket_ids=tuple(named))
