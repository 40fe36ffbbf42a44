"""Email: a proper MIME message, sent over SMTP, or written to a file mailbox.

Every message of a ticket refers to one root Message-ID in In-Reply-To and References,
so mail clients thread them; each delivery's own Message-ID is stable across retries,
so a repeat after a crash is recognisable downstream.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import re
import time
from email import encoders
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, parseaddr
from pathlib import Path

import aiosmtplib

from app.notifications.channels.base import Outcome, Outgoing, OutgoingFile

# Built with the compat32 classes: EmailMessage's header registry parses and refolds
# every header it is given, which made building a message cost more CPU than sending it.
# What we put in headers is ours or cleaned here, so that parsing buys nothing.
_UTF8 = Charset("utf-8")
_UTF8.header_encoding = QP
_UTF8.body_encoding = QP  # readable in the raw message, unlike base64


def _header(name: str, value: str) -> str:
    """One line (a newline in user text must never start a header of its own), encoded
    as RFC 2047 words when it is not plain ASCII. Folded knowing the header's name, so
    the first word stays on the first line (otherwise a long value starts on a
    continuation line and is read back with a leading space)."""
    line = " ".join(value.split())
    return line if line.isascii() else Header(line, _UTF8, header_name=name).encode()


def _address(name: str, address: str) -> str:
    return formataddr((" ".join(name.split()), address), charset=_UTF8)


def build_message(outgoing: Outgoing, sender: str) -> Message:
    assert outgoing.rendered is not None
    assert outgoing.recipient is not None
    rendered, recipient = outgoing.rendered, outgoing.recipient
    text, html_text = rendered.as_text(), rendered.as_html()
    linked = [f for f in outgoing.files if f.content is None]
    if linked:
        text, html_text = _with_links(text, html_text, linked)
    body = MIMEMultipart("alternative")
    body.attach(MIMEText(text, "plain", _UTF8))  # type: ignore[arg-type]
    body.attach(MIMEText(html_text, "html", _UTF8))  # type: ignore[arg-type]
    attached = [f for f in outgoing.files if f.content is not None]
    message: MIMEMultipart = body
    if attached:
        message = MIMEMultipart("mixed")
        message.attach(body)
        for file in attached:
            message.attach(_file_part(file))
    message["From"] = _address(*parseaddr(sender))
    message["To"] = _address(recipient.name, recipient.email)
    message["Subject"] = _header("Subject", rendered.subject)
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = outgoing.delivery.idempotency_key
    if outgoing.thread_root:
        message["In-Reply-To"] = outgoing.thread_root
        message["References"] = outgoing.thread_root
    if outgoing.reply_to:
        message["Reply-To"] = outgoing.reply_to
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    if outgoing.delivery.ticket_id is not None:
        message["X-Helpdesk-Ticket"] = str(outgoing.delivery.ticket_id)
    return message


def _file_part(file: OutgoingFile) -> MIMEBase:
    maintype, _, subtype = file.content_type.partition("/")
    part = MIMEBase(maintype or "application", subtype or "octet-stream")
    part.set_payload(file.content or b"")
    encoders.encode_base64(part)
    part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", file.filename))
    return part


def _with_links(text: str, html_text: str, files: list[OutgoingFile]) -> tuple[str, str]:
    """Files too large to attach, as download links after the message."""
    lines = [f"- {f.filename} ({f.size // 1024 + 1} KB): {f.link}" for f in files]
    text = text.rstrip("\n") + "\n\nFiles:\n" + "\n".join(lines) + "\n"
    items = "".join(
        f'<li><a href="{html.escape(f.link)}">{html.escape(f.filename)}</a> '
        f"({f.size // 1024 + 1} KB)</li>"
        for f in files
    )
    html_text = html_text.replace("</body>", f"<ul>{items}</ul>\n</body>", 1)
    return text, html_text


class SmtpChannel:
    """SMTP with connections kept open and reused, one per concurrent sender.

    Opening a connection costs a TCP handshake, the greeting, EHLO (and STARTTLS and
    AUTH when configured) and QUIT: more round trips and CPU than the message itself.
    A connection that failed in any way is closed, never reused, so the next message
    starts from a clean session; one idle for a while is checked with NOOP first,
    because servers drop idle clients.
    """

    # Servers typically drop clients idle for a few minutes (RFC 5321 4.5.3.2.7);
    # past this many seconds a NOOP checks the connection before it carries a message.
    IDLE_CHECK_SECONDS = 10.0

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
        self._idle: list[tuple[aiosmtplib.SMTP, float]] = []

    async def send(self, outgoing: Outgoing) -> Outcome:
        message = build_message(outgoing, self.sender)
        smtp: aiosmtplib.SMTP | None = None
        try:
            smtp = await self._connection()
            await smtp.send_message(message)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            _discard(smtp)
            return Outcome(delivered=False, error=f"recipient refused: {exc}"[:500], permanent=True)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            _discard(smtp)
            return Outcome(delivered=False, error=f"{type(exc).__name__}: {exc}"[:500])
        except BaseException:
            _discard(smtp)  # cancelled mid-conversation: the session state is unknown
            raise
        self._idle.append((smtp, time.monotonic()))
        return Outcome(delivered=True)

    async def _connection(self) -> aiosmtplib.SMTP:
        while self._idle:
            smtp, since = self._idle.pop()
            if not smtp.is_connected:
                continue
            if time.monotonic() - since < self.IDLE_CHECK_SECONDS:
                return smtp
            try:
                await smtp.noop()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                _discard(smtp)
                continue
            return smtp
        smtp = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            use_tls=self.use_tls,
            start_tls=self.start_tls,
            timeout=self.timeout,
        )
        await smtp.connect()
        return smtp

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for smtp, _since in idle:
            with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
                await smtp.quit()
            _discard(smtp)


def _discard(smtp: aiosmtplib.SMTP | None) -> None:
    if smtp is not None and smtp.is_connected:
        smtp.close()


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
