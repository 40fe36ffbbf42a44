"""uvicorn's WebSocket protocol (the websockets sans-I/O one), trimmed for many idle sockets.

`helpdesk serve` runs every WebSocket through `LiveWebSocketProtocol`. It behaves as
uvicorn's own and changes only what an idle connection holds and how a dead one ends:

- The inbox and the `writable` flag are small single-purpose objects instead of an
  `asyncio.Queue` (three deques) and an `asyncio.Event` (one deque): about 3.5 KB less
  per socket. uvicorn only calls `put_nowait`, `get` and `empty` on the one, `set`,
  `clear` and `wait` on the other.
- The parsed handshake request and response are let go once the handshake is done
  (the ASGI scope keeps the request headers): about 3 KB.
- permessage-deflate, when enabled, is negotiated without context takeover in either
  direction, so zlib state exists only while a message is being compressed or
  decompressed. With context takeover each socket keeps a compressor and a
  decompressor for its whole life (about 50 KB at uvicorn's window sizes).
- TCP_USER_TIMEOUT on the socket: a peer that takes no data for that long (a stalled
  client whose receive window stays shut) is reset by the kernel, which releases the
  socket, its kernel send buffer (megabytes on a fast link) and uvicorn's write buffer.
  Without it uvicorn's `transport.close()` waits for that peer forever.

These lean on uvicorn's attribute names (`queue`, `writable`, `conn`, `request`,
`response`); tests/live runs every test through this class, so an uvicorn upgrade that
changes them fails there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from asyncio import BaseTransport
from typing import Any, ClassVar

from uvicorn.config import Config
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
from websockets.http11 import Request
from websockets.server import ServerProtocol

from app.config import get_settings

# uvicorn's own window sizes and memory level; without context takeover they only
# bound the memory of one message's compression.
DEFLATE_WINDOW_BITS = 12
DEFLATE_MEM_LEVEL = 5


class _Inbox:
    """The part of asyncio.Queue that uvicorn's protocol uses, unbounded, allocating
    only while messages wait (client frames are rare on this channel)."""

    __slots__ = ("_items", "_waiters")

    def __init__(self) -> None:
        self._items: list[Any] | None = None
        self._waiters: list[asyncio.Future[None]] | None = None

    def put_nowait(self, item: Any) -> None:
        if self._items is None:
            self._items = []
        self._items.append(item)
        if self._waiters:
            for waiter in self._waiters:
                if not waiter.done():
                    waiter.set_result(None)
                    break

    def empty(self) -> bool:
        return not self._items

    async def get(self) -> Any:
        while not self._items:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            if self._waiters is None:
                self._waiters = []
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                self._waiters.remove(waiter)
                if not self._waiters:
                    self._waiters = None
        item = self._items.pop(0)
        if not self._items:
            self._items = None
        return item


class _Flag:
    """The part of asyncio.Event that uvicorn's protocol uses, without a deque."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = False
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> bool:
        if self._set:
            return True
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)
        return True


class LiveWebSocketProtocol(WebSocketsSansIOProtocol):
    # Seconds; None reads HELPDESK_WS_TCP_USER_TIMEOUT_SECONDS (tests set it directly).
    tcp_user_timeout_seconds: ClassVar[float | None] = None

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.queue = _Inbox()  # type: ignore[assignment]
        self.writable = _Flag()  # type: ignore[assignment]
        self.writable.set()
        if config.ws_per_message_deflate:
            self.conn = ServerProtocol(
                extensions=[
                    ServerPerMessageDeflateFactory(
                        server_no_context_takeover=True,
                        client_no_context_takeover=True,
                        server_max_window_bits=DEFLATE_WINDOW_BITS,
                        client_max_window_bits=DEFLATE_WINDOW_BITS,
                        compress_settings={"memLevel": DEFLATE_MEM_LEVEL},
                    )
                ],
                max_size=config.ws_max_size,
                logger=logging.getLogger("uvicorn.error"),
            )

    def connection_made(self, transport: BaseTransport) -> None:
        super().connection_made(transport)
        seconds = self.tcp_user_timeout_seconds
        if seconds is None:
            seconds = get_settings().ws_tcp_user_timeout_seconds
        raw = transport.get_extra_info("socket")
        if seconds > 0 and raw is not None and hasattr(socket, "TCP_USER_TIMEOUT"):
            # Not every platform or transport has it; the socket then lives as before.
            with contextlib.suppress(OSError):
                raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, int(seconds * 1000))

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        # The scope holds the headers the app reads; the parsed request is not used
        # again. websockets' parser generator keeps a reference to it for the life of
        # the socket, so its headers are emptied rather than just dropped here.
        self.__dict__.pop("request", None)
        event.headers.clear()

    async def send(self, message: Any) -> None:
        await super().send(message)
        if self.handshake_complete:
            # Only the handshake reads the response; it would otherwise live as long as
            # the socket.
            self.__dict__.pop("response", None)
