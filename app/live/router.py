"""The live channel: GET /api/v1/ws.

Protocol (API.md "Live channel"): the first frame authenticates; then subscribe,
unsubscribe, ping and presence frames; events arrive with resume cursors. Bad frames
get an error frame, never a dropped socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy import select

from app.auth.tokens import hash_token
from app.config import Settings
from app.live import feed
from app.live.connection import CLOSE_UNAUTHORIZED, LiveConnection
from app.live.cursor import InvalidCursorError, cursor_now, decode_cursor
from app.live.hub import EventHub
from app.live.topics import Topic, TopicError, parse_topic
from app.models import ApiToken, Ticket, User
from app.tickets.visibility import ticket_clause

logger = logging.getLogger(__name__)

router = APIRouter()

CLOSE_FORBIDDEN_ORIGIN = 4403
CLOSE_INTERNAL_ERROR = 1011
MAX_FRAME_CHARS = 16_384
PRESENCE_STATES = frozenset({"viewing", "typing", "left"})


def origin_allowed(websocket: WebSocket, settings: Settings) -> bool:
    """Browsers send Origin; native clients do not. Same-origin and listed origins pass."""
    origin = websocket.headers.get("origin")
    if origin is None or origin in settings.ws_allowed_origins:
        return True
    host = websocket.headers.get("host", "")
    return origin.split("://", 1)[-1] == host


@router.websocket("/ws")
async def live(websocket: WebSocket) -> None:
    settings: Settings = websocket.app.state.settings
    hub: EventHub = websocket.app.state.hub
    if not origin_allowed(websocket, settings):
        await websocket.close(code=CLOSE_FORBIDDEN_ORIGIN)
        return
    await websocket.accept()
    authenticated = await _authenticate(websocket, settings)
    if authenticated is None:
        with contextlib.suppress(Exception):
            await websocket.close(code=CLOSE_UNAUTHORIZED)
        return
    user, token = authenticated
    connection = LiveConnection(
        websocket, user, token.id, token.expires_at, settings.live_queue_size
    )
    hub.attach(connection)
    connection.send(
        {"type": "ready", "user": {"id": user.id, "name": user.name, "role": user.role.value}}
    )
    session = _Session(connection, user, hub, websocket, settings)
    sender = asyncio.create_task(connection.run_sender())
    receiver = asyncio.create_task(session.receive_loop())
    closer = asyncio.create_task(connection.closed.wait())
    try:
        done, _ = await asyncio.wait(
            {sender, receiver, closer}, return_when=asyncio.FIRST_COMPLETED
        )
        for task in done - {closer}:
            failure = None if task.cancelled() else task.exception()
            if failure is not None and not isinstance(failure, WebSocketDisconnect):
                logger.error("live connection %s failed", connection.id, exc_info=failure)
                connection.close(CLOSE_INTERNAL_ERROR)
    finally:
        for task in (sender, receiver, closer):
            task.cancel()
        hub.detach(connection)
        for ticket_id in list(connection.presence_tickets):
            with contextlib.suppress(Exception):
                await hub.announce_presence(connection, ticket_id, "left")
        if connection.closed.is_set():
            await connection.finish()


async def _authenticate(websocket: WebSocket, settings: Settings) -> tuple[User, ApiToken] | None:
    try:
        text = await asyncio.wait_for(
            websocket.receive_text(), timeout=settings.ws_auth_timeout_seconds
        )
        frame = json.loads(text)
    except (TimeoutError, WebSocketDisconnect, ValueError, KeyError, RuntimeError):
        return None
    if not isinstance(frame, dict) or frame.get("type") != "auth":
        return None
    token_text = frame.get("token")
    if not isinstance(token_text, str) or not 0 < len(token_text) <= 200:
        return None
    sessionmaker = websocket.app.state.sessionmaker
    async with sessionmaker() as session:
        row = (
            await session.execute(
                select(ApiToken, User)
                .join(User, User.id == ApiToken.user_id)
                .where(ApiToken.token_hash == hash_token(token_text))
            )
        ).one_or_none()
    if row is None:
        return None
    token, user = row
    now = datetime.now(UTC)
    if token.revoked_at is not None or not user.active:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    return user, token


class _Session:
    """The conversation with one client after it authenticated."""

    def __init__(
        self,
        connection: LiveConnection,
        user: User,
        hub: EventHub,
        websocket: WebSocket,
        settings: Settings,
    ) -> None:
        self.connection = connection
        self.user = user
        self.hub = hub
        self.websocket = websocket
        self.settings = settings

    def error(self, detail: str) -> None:
        self.connection.send({"type": "error", "detail": detail})

    async def receive_loop(self) -> None:
        while True:
            try:
                text = await self.websocket.receive_text()
            except (WebSocketDisconnect, RuntimeError):
                return
            except KeyError:  # a binary frame
                self.error("frames must be JSON text")
                continue
            if len(text) > MAX_FRAME_CHARS:
                self.error("frame too large")
                continue
            try:
                frame = json.loads(text)
            except ValueError:
                self.error("frames must be JSON objects")
                continue
            if not isinstance(frame, dict):
                self.error("frames must be JSON objects")
                continue
            await self.handle(frame)

    async def handle(self, frame: dict[str, Any]) -> None:
        match frame.get("type"):
            case "ping":
                self.connection.send({"type": "pong"})
            case "subscribe":
                await self.subscribe(frame)
            case "unsubscribe":
                names = frame.get("topics")
                if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                    self.error("unsubscribe needs topics: a list of topic names")
                    return
                self.hub.unsubscribe(self.connection, names)
                self.connection.send({"type": "unsubscribed", "topics": names})
            case "presence":
                await self.presence(frame)
            case "auth":
                self.error("already authenticated")
            case other:
                self.error(f"unknown frame type {str(other)[:40]!r}")

    async def subscribe(self, frame: dict[str, Any]) -> None:
        names = frame.get("topics")
        if not isinstance(names, list) or not names or len(names) > 50:
            self.error("subscribe needs topics: a list of 1 to 50 topic names")
            return
        since_text = frame.get("since")
        since = None
        if since_text is not None:
            if not isinstance(since_text, str) or len(since_text) > 100:
                self.error("since must be a cursor string")
                return
            try:
                since = decode_cursor(since_text)
            except InvalidCursorError:
                self.error("since is not a valid cursor")
                return
        topics: list[Topic] = []
        for name in names:
            try:
                topic = parse_topic(name, self.user)
            except TopicError as exc:
                self.error(str(exc))
                return
            if topic.kind == "ticket" and not await self._may_see_ticket(topic.ref):
                self.error(f"{name}: no such ticket")
                return
            topics.append(topic)

        stale = since is not None and (
            datetime.now(UTC).timestamp() - since.issued_at
            > self.settings.live_replay_window_seconds
        )
        if since is None or stale:
            self.hub.subscribe(self.connection, topics)
            position = self.hub.position
            self.connection.send(
                {
                    "type": "subscribed",
                    "topics": [t.name for t in topics],
                    "cursor": position.encode(),
                }
            )
            if stale:
                self.connection.send({"type": "resync_required"})
            return
        await self._subscribe_with_replay(topics, since)

    async def _subscribe_with_replay(self, topics: list[Topic], since: Any) -> None:
        connection = self.connection
        connection.begin_replay()
        try:
            self.hub.subscribe(connection, topics)
            connection.send(
                {"type": "subscribed", "topics": [t.name for t in topics], "cursor": since.encode()}
            )
            scope = feed.ReplayScope(
                viewer_id=self.user.id,
                staff=self.user.role.is_staff,
                ticket_ids=[t.ref for t in topics if t.kind == "ticket" and t.ref is not None],
                team_ids=[t.ref for t in topics if t.kind == "team" and t.ref is not None],
                own_queue=any(t.kind == "owner" for t in topics),
                everything=any(t.kind == "queue" for t in topics),
                mine=any(t.kind == "mine" for t in topics),
            )
            limit = self.settings.live_replay_max_events
            async with self.hub.database() as db:
                complete_to, events = await feed.replay(db, scope, since.xmin, limit + 1)
            if len(events) > limit:
                connection.send({"type": "resync_required"})
            else:
                connection.replayed(events, since, cursor_now(complete_to))
        finally:
            connection.end_replay()

    async def presence(self, frame: dict[str, Any]) -> None:
        if not self.user.role.is_staff:
            self.error("presence is for agents")
            return
        ticket_id, state = frame.get("ticket_id"), frame.get("state")
        if not isinstance(ticket_id, int) or isinstance(ticket_id, bool) or ticket_id < 1:
            self.error("presence needs ticket_id: a ticket id")
            return
        if state not in PRESENCE_STATES:
            self.error("presence state is viewing, typing or left")
            return
        if not await self._may_see_ticket(ticket_id):
            self.error(f"ticket:{ticket_id}: no such ticket")
            return
        await self.hub.announce_presence(self.connection, ticket_id, str(state))

    async def _may_see_ticket(self, ticket_id: int | None) -> bool:
        if ticket_id is None or ticket_id > 2**63 - 1:
            return False
        sessionmaker = self.websocket.app.state.sessionmaker
        async with sessionmaker() as session:
            found = await session.scalar(
                select(Ticket.id).where(Ticket.id == ticket_id, ticket_clause(self.user))
            )
        return found is not None
