"""One live WebSocket connection: its topics, its bounded outbox and its single writer."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from datetime import datetime
from typing import Any

from starlette.websockets import WebSocket

from app.live.cursor import Cursor
from app.live.feed import LiveEvent
from app.live.topics import Topic
from app.models import User

logger = logging.getLogger(__name__)

CLOSE_UNAUTHORIZED = 4401
CLOSE_TOO_SLOW = 4408


class LiveConnection:
    """Frames leave through one queue and one sender task, so they keep their order and
    a client that stops reading fills a bounded queue and is closed, instead of making
    the server buffer without limit."""

    def __init__(
        self,
        websocket: WebSocket,
        user: User,
        token_id: int,
        token_expires_at: datetime | None,
        queue_size: int,
    ) -> None:
        self.id = uuid.uuid4().hex
        self.websocket = websocket
        self.user_id = user.id
        self.user_name = user.name
        self.staff = user.role.is_staff
        self.token_id = token_id
        self.token_expires_at = token_expires_at
        self.topics: dict[str, Topic] = {}
        self.presence_tickets: set[int] = set()
        self.closed = asyncio.Event()
        self.close_code = 1000
        self._queue: asyncio.Queue[str] = asyncio.Queue(maxsize=queue_size)
        # While a replay runs, live events wait here so they follow the replay in order.
        self._replays_running = 0
        self._held: list[tuple[LiveEvent, str]] = []
        self._replayed_ids: set[int] = set()

    # -- what leaves -------------------------------------------------------------

    def send(self, frame: dict[str, Any]) -> None:
        self._offer(json.dumps(frame, separators=(",", ":")))

    def _offer(self, text: str) -> None:
        if self.closed.is_set():
            return
        try:
            self._queue.put_nowait(text)
        except asyncio.QueueFull:
            logger.info("closing live connection %s: the client is not reading", self.id)
            self.close(CLOSE_TOO_SLOW)

    def event_json(self, event: LiveEvent) -> str:
        return event.staff_json if self.staff else event.requester_json

    def deliver(self, event: LiveEvent, cursor: Cursor) -> None:
        if self._replays_running:
            self._held.append((event, cursor.encode()))
            return
        if event.id in self._replayed_ids:
            return
        self._offer_event(event, cursor.encode())

    def ticket_json(self, event: LiveEvent) -> str:
        return event.staff_ticket_json if self.staff else event.requester_ticket_json

    def _offer_event(self, event: LiveEvent, cursor: str) -> None:
        self._offer(
            f'{{"type":"event","event":{self.event_json(event)},'
            f'"ticket":{self.ticket_json(event)},"cursor":"{cursor}"}}'
        )

    def begin_replay(self) -> None:
        self._replays_running += 1

    def replayed(self, events: list[LiveEvent], since: Cursor, complete_to: Cursor) -> None:
        """Send a replay, then whatever arrived live meanwhile (minus what the replay had)."""
        for index, event in enumerate(events):
            self._replayed_ids.add(event.id)
            cursor = complete_to if index == len(events) - 1 else since
            self._offer_event(event, cursor.encode())

    def end_replay(self) -> None:
        self._replays_running -= 1
        if self._replays_running:
            return
        held, self._held = self._held, []
        for event, cursor in held:
            if event.id not in self._replayed_ids:
                self._offer_event(event, cursor)
        self._replayed_ids.clear()

    async def run_sender(self) -> None:
        while True:
            text = await self._queue.get()
            await self.websocket.send_text(text)

    # -- closing -----------------------------------------------------------------

    def close(self, code: int) -> None:
        if not self.closed.is_set():
            self.close_code = code
            self.closed.set()

    async def finish(self) -> None:
        """Send the close frame if the peer still listens; never wait long for it."""
        with contextlib.suppress(Exception):
            # A slow reader gets time to drain its backlog and see why it was closed;
            # other closes (shutdown, revoked token) do not wait.
            grace = 30.0 if self.close_code == CLOSE_TOO_SLOW else 1.0
            await asyncio.wait_for(self.websocket.close(code=self.close_code), timeout=grace)
