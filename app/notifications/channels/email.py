"""Email: a proper MIME message, sent over SMTP, or written to a file mailbox.

Every message of a ticket refers to one root Message-ID in In-Reply-To and References,
so mail clients thread them; each delivery's own Message-ID is stable across retries,
so a repeat after a crash is recognisable downstream.
"""

from __future__ import annotations

import asyncio
import re
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from pathlib import Path

import aiosmtplib

from app.notifications.channels.base import Outcome, Outgoing


def build_message(outgoing: Outgoing, sender: str) -> EmailMessage:
    assert outgoing.rendered is not None
    assert outgoing.recipient is not None
    rendered, recipient = outgoing.rendered, outgoing.recipient
    message = EmailMessage()
    message["From"] = sender
    message["To"] = formataddr((recipient.name, recipient.email))
    message["Subject"] = rendered.subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = outgoing.delivery.idempotency_key
    if outgoing.thread_root:
        message["In-Reply-To"] = outgoing.thread_root
        message["References"] = outgoing.thread_root
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    if outgoing.delivery.ticket_id is not None:
        message["X-Helpdesk-Ticket"] = str(outgoing.delivery.ticket_id)
    message.set_content(rendered.as_text())
    message.add_alternative(rendered.as_html(), subtype="html")
    return message


class SmtpChannel:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str | None,
        password: str | None,
        use_tls: bool,
        start_tls: bool | None,
        timeout: float,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password = username, password
        self.use_tls, self.start_tls, self.timeout = use_tls, start_tls, timeout

    async def send(self, outgoing: Outgoing) -> Outcome:
        message = build_message(outgoing, self.sender)
        try:
            await aiosmtplib.send(
                message,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                use_tls=self.use_tls,
                start_tls=self.start_tls,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            return Outcome(delivered=False, error=f"recipient refused: {exc}"[:500], permanent=True)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return Outcome(delivered=False, error=f"{type(exc).__name__}: {exc}"[:500])
        return Outcome(delivered=True)


_UNSAFE = re.compile(r"[^A-Za-z0-9._@+-]")


class FileMailbox:
    """No SMTP server configured: one .eml per message in <dir>/<recipient>/."""

    def __init__(self, directory: Path, sender: str) -> None:
        self.directory = directory
        self.sender = sender

    async def send(self, outgoing: Outgoing) -> Outcome:
        assert outgoing.recipient is not None
        message = build_message(outgoing, self.sender)
        folder = self.directory / _UNSAFE.sub("_", outgoing.recipient.email)
        name = _UNSAFE.sub("_", outgoing.delivery.idempotency_key.strip("<>")) + ".eml"
        await asyncio.to_thread(_write, folder, name, bytes(message))
        return Outcome(delivered=True)


def _write(folder: Path, name: str, content: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / (name + ".part")
    partial.write_bytes(content)
    partial.replace(folder / name)  # whole files only, even if the process dies mid-write
