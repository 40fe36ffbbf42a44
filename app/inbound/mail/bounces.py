"""Bounces: which of the desk's mails did not arrive, to whom, and why.

A standard delivery status notification (RFC 3464: multipart/report with a
message/delivery-status part) says it field by field. Older or non-standard bounces
(qmail, Exim, Exchange text, Gmail) come from MAILER-DAEMON or postmaster with the
failure in prose; for those the failed recipients come from `X-Failed-Recipients`
(Exim) or the usual phrasings, and the original Message-ID from the returned headers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32

from app.inbound.mail.charsets import clean_text, decode_bytes
from app.inbound.mail.headers import parse_message_ids
from app.inbound.mail.model import ParsedMail

_BOUNCE_SENDERS = frozenset({"mailer-daemon", "mailerdaemon", "mail-daemon", "postmaster"})
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered|not\s+delivered|delivery\s+(?:status\s+notification|failure|"
    r"failed|has\s+failed|problem|report)|returned\s+mail|mail\s+delivery\s+failed|"
    r"failure\s+notice|could\s+not\s+be\s+delivered|unzustellbar|nicht\s+zustellbar|"
    r"non\s+recapitabile|mancato\s+recapito|non\s+remis|non\s+distribuable|"
    r"no\s+se\s+puede\s+entregar|onbestelbaar",
    re.IGNORECASE,
)
_DELAYED = re.compile(
    r"\(delay\)|delayed|will\s+(?:continue\s+to|be\s+retried|retry)|still\s+undelivered|"
    r"not\s+yet\s+been\s+delivered|warning:",
    re.IGNORECASE,
)
_ENHANCED_STATUS = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")
_EMAIL = r"[^\s<>()\"',;:]+@[^\s<>()\"',;:]+\.[^\s<>()\"',;:]+"
# The phrasings that name failed recipients in prose bounces.
_PROSE_RECIPIENTS = [
    re.compile(rf"^\s*<({_EMAIL})>\s*:", re.MULTILINE),  # qmail, Postfix
    re.compile(rf"^\s*final-recipient:\s*rfc822;\s*<?({_EMAIL})", re.MULTILINE | re.IGNORECASE),
    re.compile(rf"wasn.t\s+delivered\s+to\s+<?({_EMAIL})>?", re.IGNORECASE),  # Gmail
    re.compile(
        rf"delivery\s+to\s+the\s+following\s+recipients?\s+failed[^\n]*\n\s*\n?\s*<?({_EMAIL})",
        re.IGNORECASE,
    ),
    re.compile(
        rf"failed\s+to\s+these\s+recipients\s+or\s+groups:\s*\n\s*\n?\s*<?({_EMAIL})", re.IGNORECASE
    ),
    re.compile(
        rf"^\s*({_EMAIL})\s*\n\s+(?:SMTP\s+error|unrouteable|mailbox\s+unavailable)",
        re.MULTILINE | re.IGNORECASE,
    ),
]
_MESSAGE_ID_LINE = re.compile(r"^\s*message-id:\s*(<[^>\s]+>)", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True, slots=True)
class BouncedRecipient:
    """One recipient a bounce reports on. `action` is the DSN action (failed, delayed,
    delivered, relayed, expanded); `status` the enhanced status code ("5.1.1")."""

    address: str
    action: str
    status: str | None = None
    diagnostic: str | None = None

    @property
    def permanent(self) -> bool:
        """A hard failure: the address will not accept mail, retrying will not help."""
        return self.action == "failed" and (self.status is None or self.status.startswith("5"))


@dataclass(frozen=True, slots=True)
class BounceReport:
    """What a bounce says: the recipients it reports on, the Message-ID of the mail that
    bounced (when the bounce returned its headers), and the reporting server.
    `standard` is True for an RFC 3464 report, False for a prose bounce."""

    recipients: tuple[BouncedRecipient, ...]
    original_message_id: str | None
    reporting_mta: str | None
    standard: bool

    @property
    def permanent(self) -> bool:
        """True when at least one recipient failed for good."""
        return any(recipient.permanent for recipient in self.recipients)


def _fields(block: str) -> dict[str, str]:
    """Header-style "Name: value" fields of one DSN block, continuations unfolded."""
    fields: dict[str, str] = {}
    name = None
    for line in block.split("\n"):
        if line[:1] in (" ", "\t") and name is not None:
            fields[name] += " " + line.strip()
            continue
        key, colon, value = line.partition(":")
        if colon and key.strip():
            name = key.strip().lower()
            fields.setdefault(name, value.strip())
    return fields


def _typed_address(value: str) -> str:
    """`rfc822; user@example.com` -> `user@example.com`."""
    address = value.split(";", 1)[1] if ";" in value else value
    return clean_text(address.strip().strip("<>").strip())


def _dsn(mail: ParsedMail) -> tuple[list[BouncedRecipient], str | None] | None:
    reports = [a for a in mail.attachments if a.content_type == "message/delivery-status"]
    if not reports:
        return None
    recipients: list[BouncedRecipient] = []
    reporting_mta = None
    for report in reports:
        text, _ = decode_bytes(report.content, "utf-8")
        blocks = re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip())
        for block in blocks:
            fields = _fields(block)
            if "reporting-mta" in fields and reporting_mta is None:
                reporting_mta = _typed_address(fields["reporting-mta"])
            address = fields.get("final-recipient") or fields.get("original-recipient")
            if not address:
                continue
            status = _ENHANCED_STATUS.search(fields.get("status", ""))
            recipients.append(
                BouncedRecipient(
                    address=_typed_address(address),
                    action=fields.get("action", "failed").strip().lower() or "failed",
                    status=status.group(1) if status else None,
                    diagnostic=clean_text(fields["diagnostic-code"])[:1000]
                    if "diagnostic-code" in fields
                    else None,
                )
            )
    return recipients, reporting_mta


def _original_message_id(mail: ParsedMail) -> str | None:
    for forwarded in mail.forwarded:
        if forwarded.message_id:
            return forwarded.message_id
    for attachment in mail.attachments:
        if attachment.content_type in ("text/rfc822-headers", "message/global-headers"):
            headers = BytesHeaderParser(policy=compat32).parsebytes(attachment.content)
            ids = parse_message_ids(str(value) for value in headers.get_all("message-id", []))
            if ids:
                return ids[0]
    match = _MESSAGE_ID_LINE.search(mail.text)
    if match:
        ids = parse_message_ids([match.group(1)])
        return ids[0] if ids else None
    return None


def _looks_like_bounce(mail: ParsedMail) -> bool:
    sender = mail.sender.address.lower().split("@")[0] if mail.sender else ""
    if sender in ("mailer-daemon", "mailerdaemon", "mail-daemon"):
        return True
    named = mail.sender is not None and "mail delivery" in mail.sender.name.lower()
    return (sender in _BOUNCE_SENDERS or named) and bool(_BOUNCE_SUBJECT.search(mail.subject))


def _prose_recipients(mail: ParsedMail) -> list[BouncedRecipient]:
    delayed = bool(_DELAYED.search(mail.subject))
    action = "delayed" if delayed else "failed"
    status = _ENHANCED_STATUS.search(mail.text)
    addresses: list[str] = []
    for value in mail.header_all("x-failed-recipients"):
        addresses += [part.strip().strip("<>") for part in value.split(",") if "@" in part]
    if not addresses:
        for pattern in _PROSE_RECIPIENTS:
            addresses += pattern.findall(mail.text)
    unique = list(dict.fromkeys(a.strip(".").lower() for a in addresses if a))[:100]
    return [
        BouncedRecipient(address, action, status.group(1) if status else None, None)
        for address in unique
    ]


def bounce_report(mail: ParsedMail) -> BounceReport | None:
    """The bounce report in `mail`, or None when it is not a bounce."""
    dsn = _dsn(mail)
    if dsn is not None:
        recipients, reporting_mta = dsn
        return BounceReport(tuple(recipients), _original_message_id(mail), reporting_mta, True)
    if not _looks_like_bounce(mail):
        return None
    return BounceReport(
        tuple(_prose_recipients(mail)), _original_message_id(mail), None, standard=False
    )
