"""What a parsed mail is: plain immutable values, no database, no I/O.

Every `str` here is clean for PostgreSQL (no NUL, no lone surrogates) and decoded for
people (RFC 2047 words, charsets, transfer encodings are all undone).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal


@dataclass(frozen=True, slots=True)
class MailAddress:
    """One mailbox: `address` as written (domain lower-cased), `name` decoded ("" when
    the header gave none)."""

    address: str
    name: str = ""

    @property
    def normalized(self) -> str:
        """The address for comparisons: lower case (mailbox local parts are case
        sensitive in theory and never in practice)."""
        return self.address.lower()

    def __str__(self) -> str:
        return f"{self.name} <{self.address}>" if self.name else self.address


@dataclass(frozen=True, slots=True)
class MailAttachment:
    """A file that came with the mail.

    `filename` is decoded (RFC 2231 and RFC 2047) and reduced to a bare file name (no
    directories, no control characters); None when the sender gave none. `content_type`
    is what the sender declared, lower case; `content` the decoded bytes. `inline`
    parts are meant to be shown in the body (images referenced by `content_id`, without
    its angle brackets).
    """

    filename: str | None
    content_type: str
    content: bytes
    disposition: Literal["attachment", "inline"]
    content_id: str | None = None

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass(frozen=True, slots=True)
class ReplyParts:
    """A message's text split into what the sender wrote now (`new_text`), their
    `signature`, and the `quoted` history below (or around) it. Joined they cover the
    whole text; nothing is lost, the split only says what is new."""

    new_text: str
    quoted: str = ""
    signature: str = ""


@dataclass(frozen=True, slots=True)
class ForwardedMail:
    """The headline and text of a message attached whole (message/rfc822), such as an
    Outlook "forward as attachment"; its raw bytes are also among the attachments."""

    sender: MailAddress | None
    subject: str
    date: datetime | None
    message_id: str | None
    text: str


class MessageIdSource(StrEnum):
    HEADER = "header"
    CONTENT_HASH = "content_hash"


@dataclass(frozen=True, slots=True)
class ParsedMail:
    """A mail as the desk reads it.

    `message_id` is the Message-ID without angle brackets or, when the mail has none,
    a stable hash of its content (`message_id_source` says which), so the same mail
    delivered twice has the same id either way. `text` is the whole visible text
    (the text/plain body, or the HTML body made readable); `reply` splits it into the
    new text, the signature and the quoted history. `html` is the sender's HTML
    original, for keeping, never for showing unsanitised.
    """

    message_id: str
    message_id_source: MessageIdSource
    content_hash: str
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    sender: MailAddress | None
    from_addresses: tuple[MailAddress, ...]
    to: tuple[MailAddress, ...]
    cc: tuple[MailAddress, ...]
    reply_to: tuple[MailAddress, ...]
    envelope_recipients: tuple[MailAddress, ...]
    subject: str
    date: datetime | None
    text: str
    html: str | None
    reply: ReplyParts
    attachments: tuple[MailAttachment, ...]
    forwarded: tuple[ForwardedMail, ...]
    headers: tuple[tuple[str, str], ...]
    content_type: str
    size: int
    defects: tuple[str, ...] = field(default=())

    def header(self, name: str) -> str | None:
        """The first decoded value of header `name` (any case), or None."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)

    def header_all(self, name: str) -> tuple[str, ...]:
        """Every decoded value of header `name` (any case), in order."""
        wanted = name.lower()
        return tuple(value for key, value in self.headers if key.lower() == wanted)

    @property
    def recipients(self) -> tuple[MailAddress, ...]:
        """To, Cc and the envelope recipients (Delivered-To, X-Original-To), each once."""
        seen: set[str] = set()
        found: list[MailAddress] = []
        for address in (*self.to, *self.cc, *self.envelope_recipients):
            if address.normalized not in seen:
                seen.add(address.normalized)
                found.append(address)
        return tuple(found)


class FailureReason(StrEnum):
    """Why a mail could not be parsed; each one is a reason to quarantine it."""

    EMPTY = "empty"
    TOO_LARGE = "too_large"
    NOT_A_MESSAGE = "not_a_message"
    UNPARSEABLE = "unparseable"


@dataclass(frozen=True, slots=True)
class MailParseFailure:
    """A mail that could not be read, with why (for quarantine). `content_hash` is
    the SHA-256 of the raw bytes, so a retried delivery of the same bytes is known."""

    reason: FailureReason
    detail: str
    content_hash: str
    size: int


@dataclass(frozen=True, slots=True)
class MailLimits:
    """How much of a mail the parser takes on.

    A mail over `max_message_bytes` fails as too large (quarantined, not parsed). Parts
    nested deeper than `max_depth` or beyond `max_parts` are kept as opaque attachments;
    HTML beyond `max_html_chars` is rendered to text only up to that point.
    """

    max_message_bytes: int = 40 * 1024 * 1024
    max_parts: int = 500
    max_depth: int = 30
    max_html_chars: int = 2_000_000
    max_forwarded: int = 10
    fallback_charsets: tuple[str, ...] = ()
