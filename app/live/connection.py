"""One live WebSocket connection: its topics, its bounded outbox and how it closes.

An idle connection must cost little: thousands of agent consoles sit connected all day.
So a connection holds no task, queue or event of its own while nothing is pending. The
handler's task (the one the server runs the endpoint in) waits for client frames; a
writer task exists only while frames are queued, and a closer task only while a close
frame waits to go out.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Any

from starlette.types import Message
from starlette.websockets import WebSocket

from app.events.cursor import Cursor
from app.live.feed import LiveEvent
from app.live.topics import Topic, Viewer

logger = logging.getLogger(__name__)

CLOSE_UNAUTHORIZED = 4401
CLOSE_TOO_SLOW = 4408
# A slow reader gets time to drain its backlog and see why it was closed; other closes
# (shutdown, revoked token) do not wait.
SLOW_CLOSE_GRACE_SECONDS = 30.0
CLOSE_GRACE_SECONDS = 1.0


def render_event(event: LiveEvent, staff: bool, cursor: str) -> str:
    """The event frame as one audience sees it."""
    if staff:
        body, ticket = event.staff_json, event.staff_ticket_json
    else:
        body, ticket = event.requester_json, event.requester_ticket_json
    return f'{{"type":"event","event":{body},"ticket":{ticket},"cursor":"{cursor}"}}'


class FrameCache:
    """Event frames built once per fan-out and shared by every connection they go to:
    2,000 subscribers of one event hold one string, not 2,000 copies."""

    __slots__ = ("_frames",)

    def __init__(self) -> None:
        self._frames: dict[tuple[int, bool, str], str] = {}

    def frame(self, event: LiveEvent, staff: bool, cursor: str) -> str:
        key = (event.id, staff, cursor)
        text = self._frames.get(key)
        if text is None:
            text = self._frames[key] = render_event(event, staff, cursor)
        return text


class LiveConnection:
    """Frames leave in order through one writer, so a client that stops reading fills a
    bounded outbox and is closed with 4408 instead of making the server buffer without
    limit."""

    __slots__ = (
        "_closer",
        "_held",
        "_on_close",
        "_outbox",
        "_queue_size",
        "_reader",
        "_replayed_ids",
        "_replays_running",
        "_writer",
        "close_code",
        "gave_up",
        "id",
        "presence_tickets",
        "token_expires_at",
        "token_id",
        "topics",
        "viewer",
        "websocket",
    )

    def __init__(
        self,
        websocket: WebSocket,
        viewer: Viewer,
        token_id: int,
        token_expires_at: datetime | None,
        queue_size: int,
        on_close: Callable[[LiveConnection], None],
    ) -> None:
        self.id = uuid.uuid4().hex
        self.websocket = websocket
        self.viewer = viewer
        self.token_id = token_id
        self.token_expires_at = token_expires_at
        self.topics: dict[str, Topic] = {}
        self.presence_tickets: set[int] = set()
        self.close_code: int | None = None
        # True once the peer had its grace period to take the close frame and did not.
        self.gave_up = False
        self._queue_size = queue_size
        self._on_close = on_close
        self._outbox: deque[str] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._closer: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[Any] | None = None
        # While a replay runs, live events wait here so they follow the replay in order.
        self._replays_running = 0
        self._held: list[tuple[LiveEvent, str]] | None = None
        self._replayed_ids: set[int] | None = None

    @property
    def staff(self) -> bool:
        return self.viewer.staff

    @property
    def user_id(self) -> int:
        return self.viewer.id

    @property
    def closing(self) -> bool:
        return self.close_code is not None

    # -- what leaves -------------------------------------------------------------

    def send(self, frame: dict[str, Any]) -> None:
        self._offer(json.dumps(frame, separators=(",", ":")))

    def _offer(self, text: str) -> None:
        if self.close_code is not None:
            return
        outbox = self._outbox
        if outbox is None:
            outbox = self._outbox = deque()
        elif len(outbox) >= self._queue_size:
            logger.warning("closing live connection %s: the client is not reading", self.id)
            self.close(CLOSE_TOO_SLOW)
            return
        outbox.append(text)
        if self._writer is None:
            self._writer = asyncio.create_task(self._write())

    async def _write(self) -> None:
        try:
            while self._outbox:
                await self.websocket.send_text(self._outbox.popleft())
        except Exception:
            # The peer is gone (the handler hears it from receive): queue nothing more.
            self._outbox = None
            self._on_close(self)
        finally:
            self._writer = None
            if not self._outbox:
                self._outbox = None  # an idle connection keeps no buffer

    def deliver(self, event: LiveEvent, cursor: str, frames: FrameCache) -> None:
        if self._replays_running:
            if self._held is None:
                self._held = []
            self._held.append((event, cursor))
            return
        if self._replayed_ids is not None and event.id in self._replayed_ids:
            return
        self._offer(frames.frame(event, self.staff, cursor))

    def begin_replay(self) -> None:
        self._replays_running += 1
        if self._replayed_ids is None:
            self._replayed_ids = set()

    def replayed(self, events: list[LiveEvent], since: Cursor, complete_to: Cursor) -> None:
        """Send a replay, then whatever arrived live meanwhile (minus what the replay had)."""
        assert self._replayed_ids is not None
        since_text, complete_text = since.encode(), complete_to.encode()
        for index, event in enumerate(events):
            self._replayed_ids.add(event.id)
            cursor = complete_text if index == len(events) - 1 else since_text
            self._offer(render_event(event, self.staff, cursor))

    def end_replay(self) -> None:
        self._replays_running -= 1
        if self._replays_running:
            return
        held, self._held = self._held or [], None
        replayed, self._replayed_ids = self._replayed_ids or set(), None
        for event, cursor in held:
            if event.id not in replayed:
                self._offer(render_event(event, self.staff, cursor))

    # -- what arrives ------------------------------------------------------------

    async def receive(self) -> Message | None:
        """The next message from the client (or its disconnect); None once the closer
        gave up on a peer that never took its close frame."""
        if self._abandoned():
            return None
        self._reader = asyncio.current_task()
        try:
            return await self.websocket.receive()
        except asyncio.CancelledError:
            if not self._abandoned():
                raise
            # Our own closer woke us (see _send_close), not a shutdown.
            assert self._reader is not None
            self._reader.uncancel()
            return None
        finally:
            self._reader = None

    def _abandoned(self) -> bool:
        return self.gave_up

    # -- closing -----------------------------------------------------------------

    def close(self, code: int) -> None:
        """Leave the hub at once and send the close frame once the peer can take it."""
        if self.close_code is not None:
            return
        self.close_code = code
        self._outbox = None
        self._on_close(self)
        if self._writer is not None:
            # It may be waiting for the socket to drain; the close frame goes next.
            self._writer.cancel()
            self._writer = None
        self._closer = asyncio.create_task(self._send_close(code))

    async def _send_close(self, code: int) -> None:
        grace = SLOW_CLOSE_GRACE_SECONDS if code == CLOSE_TOO_SLOW else CLOSE_GRACE_SECONDS
        try:
            async with asyncio.timeout(grace):
                await self.websocket.close(code=code)
        except TimeoutError:
            # The peer never drained its socket. Stop waiting for it: wake the handler
            # (it may be waiting for a frame that will never come) so it returns and the
            # server closes the transport.
            self.gave_up = True
            if self._reader is not None:
                self._reader.cancel()
        except Exception:  # noqa: S110 - the peer is gone already
            pass

    async def finished(self) -> None:
        """Once the handler is done: stop writing and let a pending close frame go out."""
        if self._writer is not None:
            self._writer.cancel()
            self._writer = None
        if self._closer is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._closer
