"""The live channel: GET /api/v1/ws.

Protocol (docs/integrators.md, "The live channel"): the first frame authenticates; then subscribe,
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
from starlette.routing import WebSocketRoute
from starlette.types import Message, Receive, Scope, Send

from app.auth.tokens import hash_token
from app.config import Settings
from app.events.cursor import InvalidCursorError, cursor_now, decode_cursor
from app.events.visibility import ticket_clause
from app.live import feed
from app.live.connection import CLOSE_UNAUTHORIZED, LiveConnection
from app.live.hub import EventHub
from app.live.presence import PresenceBook
from app.live.topics import Topic, TopicError, Viewer, parse_topic
from app.models import ApiToken, Channel, Ticket, User

logger = logging.getLogger(__name__)

router = APIRouter()

CLOSE_FORBIDDEN_ORIGIN = 4403
CLOSE_INTERNAL_ERROR = 1011
MAX_FRAME_CHARS = 16_384
PRESENCE_STATES = frozenset({"viewing", "typing", "left"})
CHAT_STATES = frozenset({"typing", "left"})


def origin_allowed(websocket: WebSocket, settings: Settings) -> bool:
    """Browsers send Origin; native clients do not. Same-origin and listed origins pass."""
    origin = websocket.headers.get("origin")
    if origin is None or origin in settings.ws_allowed_origins:
        return True
    host = websocket.headers.get("host", "")
    return origin.split("://", 1)[-1] == host


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
    viewer, token_id, token_expires_at = authenticated
    connection = LiveConnection(
        websocket, viewer, token_id, token_expires_at, settings.live_queue_size, hub.detach
    )
    hub.attach(connection)
    presence: PresenceBook = websocket.app.state.presence
    try:
        if viewer.staff:
            # Staff here are what chat availability counts, from any process; counted
            # before they are told they are ready.
            await presence.arrive(connection.id, viewer.id)
        connection.send(
            {
                "type": "ready",
                "user": {"id": viewer.id, "name": viewer.name, "role": viewer.role.value},
            }
        )
        await _Session(connection, hub, settings, websocket).receive_loop()
    except Exception:
        logger.exception("live connection %s failed", connection.id)
        connection.close(CLOSE_INTERNAL_ERROR)
    finally:
        hub.detach(connection)
        await presence.leave(connection.id)
        for ticket_id in list(connection.presence_tickets):
            with contextlib.suppress(Exception):
                await hub.announce_presence(connection, ticket_id, "left")
        await connection.finished()


class _LiveEndpoint:
    """`live` as a plain ASGI app. As a FastAPI route it would carry the dependency
    machinery (two exit stacks and their frames) through the life of every idle socket,
    for no dependency at all."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await live(WebSocket(scope, receive=receive, send=send))


router.routes.append(WebSocketRoute("/ws", _LiveEndpoint(), name="live"))


async def _authenticate(
    websocket: WebSocket, settings: Settings
) -> tuple[Viewer, int, datetime | None] | None:
    """The viewer, token id and expiry; plain values, so no ORM instance outlives this."""
    try:
        async with asyncio.timeout(settings.ws_auth_timeout_seconds):
            text = await websocket.receive_text()
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
    return Viewer.of(user), token.id, token.expires_at


class _Session:
    """The conversation with one client after it authenticated."""

    __slots__ = ("connection", "hub", "settings", "viewer", "websocket")

    def __init__(
        self, connection: LiveConnection, hub: EventHub, settings: Settings, websocket: WebSocket
    ) -> None:
        self.connection = connection
        self.viewer = connection.viewer
        self.hub = hub
        self.settings = settings
        self.websocket = websocket

    def error(self, detail: str) -> None:
        self.connection.send({"type": "error", "detail": detail})

    async def receive_loop(self) -> None:
        connection = self.connection
        while True:
            message = await connection.receive()
            if message is None or message["type"] == "websocket.disconnect":
                return
            if connection.closing:
                continue  # closed by us: only the client's close reply matters now
            # In a call of its own, so the last frame is not kept alive while idle.
            await self.on_message(message)

    async def on_message(self, message: Message) -> None:
        text = message.get("text")
        if not isinstance(text, str):
            self.error("frames must be JSON text")
            return
        if len(text) > MAX_FRAME_CHARS:
            self.error("frame too large")
            return
        try:
            frame = json.loads(text)
        except ValueError:
            self.error("frames must be JSON objects")
            return
        if not isinstance(frame, dict):
            self.error("frames must be JSON objects")
            return
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
                topic = parse_topic(name, self.viewer)
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
                viewer_id=self.viewer.id,
                staff=self.viewer.staff,
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
        ticket_id, state = frame.get("ticket_id"), frame.get("state")
        if not isinstance(ticket_id, int) or isinstance(ticket_id, bool) or ticket_id < 1:
            self.error("presence needs ticket_id: a ticket id")
            return
        if state not in PRESENCE_STATES:
            self.error("presence state is viewing, typing or left")
            return
        channel = await self._visible_channel(ticket_id)
        if channel is None:
            self.error(f"ticket:{ticket_id}: no such ticket")
            return
        chat = channel is Channel.CHAT
        # In a chat both sides see the other typing; elsewhere presence is for colleagues.
        if not self.viewer.staff and not (chat and state in CHAT_STATES):
            self.error("presence is for agents (customers: typing or left, in a chat)")
            return
        await self.hub.announce_presence(self.connection, ticket_id, str(state), chat=chat)

    async def _visible_channel(self, ticket_id: int) -> Channel | None:
        if ticket_id > 2**63 - 1:
            return None
        sessionmaker = self.websocket.app.state.sessionmaker
        async with sessionmaker() as session:
            channel: Channel | None = await session.scalar(
                select(Ticket.channel).where(
                    Ticket.id == ticket_id, ticket_clause(self.viewer.as_user())
                )
            )
        return channel

    async def _may_see_ticket(self, ticket_id: int | None) -> bool:
        if ticket_id is None or ticket_id > 2**63 - 1:
            return False
        sessionmaker = self.websocket.app.state.sessionmaker
        async with sessionmaker() as session:
            found = await session.scalar(
                select(Ticket.id).where(
                    Ticket.id == ticket_id, ticket_clause(self.viewer.as_user())
                )
            )
        return found is not None
