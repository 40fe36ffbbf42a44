"""The channel-agnostic shape of an inbound message, and what became of it.

Every channel turns what it received into an `IncomingMessage`: who sent it (a sender
identity), its text (the new part, and the whole), its files, and the hints it carries
about the ticket it answers. `recording.deliver` does the rest the same way for all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from app.models import Channel, IntakeOutcome


class Sent(StrEnum):
    """Who wrote it, as far as intake can tell (RFC 3834 for email)."""

    PERSON = "person"
    AUTO_REPLY = "auto_reply"  # an out-of-office or autoresponder: an internal note at most
    AUTOMATED = "automated"  # a machine, not answering (alerts, lists): never acknowledged


@dataclass(frozen=True, slots=True)
class SenderIdentity:
    """One way to reach a person: `kind` "email" (value lower case), "phone" (E.164) or
    "handle" (with its `source`, the network it lives on)."""

    kind: str
    value: str
    name: str = ""
    source: str = ""


@dataclass(frozen=True, slots=True)
class IncomingFile:
    filename: str | None
    content_type: str
    content: bytes
    inline: bool = False


@dataclass(frozen=True, slots=True)
class ThreadHints:
    """What the message says about the ticket it belongs to, most trusted first:
    `references` are ids of earlier messages it answers (the newest first), checked
    against everything the desk sent or received; `ticket_ids` are ticket numbers it
    names (a subject tag, a per-ticket reply address) with where each was found."""

    references: tuple[str, ...] = ()
    ticket_ids: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    channel: Channel
    sender: SenderIdentity
    subject: str
    body: str  # what is new: quoted history and signature left out
    full_text: str  # everything the sender wrote, for when the new part is empty
    sent: Sent = Sent.PERSON
    files: tuple[IncomingFile, ...] = ()
    hints: ThreadHints = field(default_factory=ThreadHints)
    # Others it was addressed to (Cc): known staff among them follow the ticket.
    addressed: tuple[SenderIdentity, ...] = ()
    team_id: int | None = None  # the team its address or mailbox routes to
    sent_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """What became of a message: the outcome the intake answers with."""

    outcome: IntakeOutcome
    ticket_id: int | None = None
    message_id: int | None = None
    reason: str | None = None
    reason_code: str | None = None


class Refused(Exception):
    """The message cannot be recorded as it is: quarantine it with this reason."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
