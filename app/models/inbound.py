"""Intake: every raw message that came in (kept until, and after, it is recorded), the
files that came with messages, and the IMAP mailboxes the desk polls."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigId, CreatedAt
from app.models.user import enum_column


class IntakeOutcome(StrEnum):
    CREATED = "created"  # a new ticket
    APPENDED = "appended"  # a message on an existing ticket
    FOLLOWUP = "followup"  # a new ticket following up a closed one
    IGNORED = "ignored"  # accounted for, nothing to record (a bounce, a loop, ...)
    QUARANTINED = "quarantined"  # kept raw with its reason, for an admin to retry or delete


class InboundMessage(Base):
    """One raw message as it arrived, and what became of it.

    The raw bytes live in the attachment store under their SHA-256 (`raw_sha256`),
    written before the row commits, so nothing that was acknowledged is ever lost.
    `dedupe_key` (the SHA-256 of channel and external id: an email's Message-ID, or its
    content hash when it has none) is unique: the same message twice is recognised,
    and it is also how replies are threaded onto the messages the desk received.
    """

    __tablename__ = "inbound_messages"
    __table_args__ = (
        Index(
            "ix_inbound_messages_quarantine", "id", postgresql_where=text("outcome = 'quarantined'")
        ),
        Index("ix_inbound_messages_sender_received", "sender", "received_at"),
        Index("ix_inbound_messages_ticket_id", "ticket_id"),
        Index("ix_inbound_messages_message_row_id", "message_row_id"),
        Index("ix_inbound_messages_raw_sha256", "raw_sha256"),
    )

    id: Mapped[BigId]
    channel: Mapped[str] = mapped_column(String(32))
    # How it reached the desk: http, smtp, imap.
    via: Mapped[str] = mapped_column(String(16))
    mailbox_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("mailboxes.id", ondelete="SET NULL")
    )
    dedupe_key: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    external_id: Mapped[str] = mapped_column(Text)
    raw_sha256: Mapped[str] = mapped_column(String(64))
    raw_size: Mapped[int] = mapped_column(BigInteger)
    # The SMTP envelope's recipients (RCPT TO), which the raw message does not carry.
    envelope_recipients: Mapped[list[str]] = mapped_column(
        ARRAY(String(320)), server_default=text("'{}'")
    )
    sender: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(String(300))
    outcome: Mapped[IntakeOutcome] = mapped_column(enum_column(IntakeOutcome, "intake_outcome"))
    # Why it was quarantined or ignored, in words; `reason_code` for machines.
    reason: Mapped[str | None] = mapped_column(Text)
    reason_code: Mapped[str | None] = mapped_column(String(64))
    ticket_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("tickets.id", ondelete="SET NULL")
    )
    message_row_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("messages.id", ondelete="SET NULL")
    )
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    received_at: Mapped[CreatedAt]
    recorded_at: Mapped[datetime | None]


class Attachment(Base):
    """A file that came with a message (or with a ticket as it was filed: `message_id`
    null), stored once by content in the attachment store. Its visibility is its
    message's; a ticket's own files are as public as its description."""

    __tablename__ = "attachments"
    __table_args__ = (
        Index("ix_attachments_ticket_id_id", "ticket_id", "id"),
        Index("ix_attachments_message_id", "message_id"),
        Index("ix_attachments_sha256", "sha256"),
    )

    id: Mapped[BigId]
    ticket_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("tickets.id", ondelete="CASCADE"))
    message_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("messages.id", ondelete="CASCADE")
    )
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str | None] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    # Shown in the body where its sender put it (an image in a signature), not a file
    # they meant to send.
    inline: Mapped[bool] = mapped_column(server_default=text("false"))
    created_at: Mapped[CreatedAt]


class MailboxSecurity(StrEnum):
    TLS = "tls"  # implicit TLS (993)
    STARTTLS = "starttls"
    NONE = "none"


class MailboxAuth(StrEnum):
    PASSWORD = "password"  # noqa: S105 - LOGIN with a password
    XOAUTH2 = "xoauth2"  # an OAuth2 access token (Gmail, Microsoft 365)


class Mailbox(Base):
    """An IMAP mailbox the desk polls. The secret (password or access token) is stored
    sealed with a key derived from HELPDESK_SECRET_KEY and never shown again."""

    __tablename__ = "mailboxes"

    id: Mapped[BigId]
    name: Mapped[str] = mapped_column(String(100), unique=True)
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer)
    security: Mapped[MailboxSecurity] = mapped_column(
        enum_column(MailboxSecurity, "mailbox_security")
    )
    username: Mapped[str] = mapped_column(String(320))
    auth: Mapped[MailboxAuth] = mapped_column(enum_column(MailboxAuth, "mailbox_auth"))
    secret_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    folder: Mapped[str] = mapped_column(String(255), server_default=text("'INBOX'"))
    # Where a recorded mail goes; unset: it stays, flagged \Seen.
    move_to: Mapped[str | None] = mapped_column(String(255))
    team_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("teams.id", ondelete="SET NULL")
    )
    active: Mapped[bool] = mapped_column(server_default=text("true"))
    last_polled_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[CreatedAt]
