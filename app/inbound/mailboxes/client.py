"""An IMAP session for a poller, on aioimaplib: connect (TLS, STARTTLS or plain), log
in (LOGIN, or XOAUTH2 with an access token), select the folder, list the unseen mail,
fetch one, flag or move it, and wait with IDLE when the server offers it."""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
from dataclasses import dataclass

import aioimaplib

from app.models import MailboxAuth, MailboxSecurity

TIMEOUT_SECONDS = 30.0
_LITERAL = re.compile(rb"\{(\d+)\}$")


class ImapError(Exception):
    """The server refused, or the connection broke; the poller reconnects later."""


@dataclass(frozen=True, slots=True)
class Login:
    host: str
    port: int
    security: MailboxSecurity
    username: str
    auth: MailboxAuth
    secret: str
    folder: str
    verify_tls: bool = True


def _context(verify: bool) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _ok(response: aioimaplib.Response, what: str) -> aioimaplib.Response:
    if response.result != "OK":
        detail = b" ".join(response.lines[-1:]).decode("utf-8", "replace")[:300]
        raise ImapError(f"{what}: {response.result} {detail}")
    return response


class ImapSession:
    def __init__(self, login: Login) -> None:
        self.login = login
        self.imap: aioimaplib.IMAP4 | None = None

    async def open(self) -> None:
        login = self.login
        if login.security is MailboxSecurity.TLS:
            imap: aioimaplib.IMAP4 = aioimaplib.IMAP4_SSL(
                login.host,
                login.port,
                timeout=TIMEOUT_SECONDS,
                ssl_context=_context(login.verify_tls),
            )
        else:
            imap = aioimaplib.IMAP4(login.host, login.port, timeout=TIMEOUT_SECONDS)
        self.imap = imap
        try:
            await imap.wait_hello_from_server()
            if login.security is MailboxSecurity.STARTTLS:
                await self._starttls()
            if login.auth is MailboxAuth.XOAUTH2:
                _ok(await imap.xoauth2(login.username, login.secret.encode()), "XOAUTH2")
            else:
                _ok(await imap.login(login.username, login.secret), "LOGIN")
            _ok(await imap.select(login.folder), f"SELECT {login.folder}")
        except (OSError, TimeoutError, aioimaplib.AioImapException) as error:
            raise ImapError(f"{type(error).__name__}: {error}") from error

    async def _starttls(self) -> None:
        """aioimaplib has no STARTTLS of its own: the command, then the same protocol
        object over the upgraded transport, then the capabilities again (RFC 3501)."""
        assert self.imap is not None
        protocol = self.imap.protocol
        command = aioimaplib.Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)
        _ok(await asyncio.wait_for(protocol.execute(command), TIMEOUT_SECONDS), "STARTTLS")
        protocol.transport = await protocol.loop.start_tls(
            protocol.transport,
            protocol,
            _context(self.login.verify_tls),
            server_hostname=self.login.host,
        )
        await protocol.capability()

    @property
    def _imap(self) -> aioimaplib.IMAP4:
        if self.imap is None:
            raise ImapError("not connected")
        return self.imap

    @property
    def can_idle(self) -> bool:
        return self.imap is not None and self.imap.has_capability("IDLE")

    async def unseen(self) -> list[int]:
        """The UIDs of the mail not yet flagged \\Seen, oldest first."""
        response = _ok(await self._imap.uid_search("UNSEEN", charset=None), "UID SEARCH")
        uids: list[int] = []
        for line in response.lines:
            if line.startswith(b"SEARCH") or (line and line[:1].isdigit()):
                uids += [int(word) for word in line.split() if word.isdigit()]
        return sorted(set(uids))

    async def fetch(self, uid: int) -> bytes | None:
        """The raw message, without setting \\Seen (BODY.PEEK); None if it is gone."""
        response = _ok(await self._imap.uid("fetch", str(uid), "(BODY.PEEK[])"), "UID FETCH")
        lines = response.lines
        for index, line in enumerate(lines[:-1]):
            if _LITERAL.search(line) and isinstance(lines[index + 1], bytearray | bytes):
                return bytes(lines[index + 1])
        return None

    async def done_with(self, uid: int, move_to: str | None) -> None:
        """After the mail's commit: flag it \\Seen, and move it when asked."""
        _ok(await self._imap.uid("store", str(uid), "+FLAGS", "(\\Seen)"), "UID STORE")
        if move_to:
            if self._imap.has_capability("MOVE"):
                _ok(await self._imap.uid("move", str(uid), move_to), "UID MOVE")
            else:
                _ok(await self._imap.uid("copy", str(uid), move_to), "UID COPY")
                _ok(await self._imap.uid("store", str(uid), "+FLAGS", "(\\Deleted)"), "UID STORE")
                _ok(await self._imap.expunge(), "EXPUNGE")

    async def wait_for_mail(self, seconds: float) -> None:
        """Until the server announces a change (IDLE) or `seconds` pass."""
        imap = self._imap
        idle = await imap.idle_start(timeout=seconds)
        try:
            while True:
                pushed = await imap.wait_server_push(timeout=seconds + 5)
                if pushed == aioimaplib.STOP_WAIT_SERVER_PUSH or any(
                    b"EXISTS" in line or b"RECENT" in line for line in pushed
                ):
                    break
        except TimeoutError:
            pass
        finally:
            imap.idle_done()
            with contextlib.suppress(TimeoutError, aioimaplib.AioImapException):
                await asyncio.wait_for(idle, TIMEOUT_SECONDS)

    async def close(self) -> None:
        if self.imap is None:
            return
        imap, self.imap = self.imap, None
        with contextlib.suppress(Exception):
            await asyncio.wait_for(imap.logout(), 5)
