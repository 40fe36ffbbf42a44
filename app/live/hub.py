"""The per-process event hub: one LISTEN connection, PostgreSQL as the bus.

Events are announced by a trigger with pg_notify, which PostgreSQL delivers at commit
to every listening process. A notification only wakes the hub: it then reads a batch
in snapshot order (see feed.py), so a dropped connection, a lost notification or a
late commit delays an event but never loses it. The hub also relays presence and
closes connections whose token was revoked or whose user was deactivated.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import asyncpg_connect_args
from app.events.cursor import Cursor, cursor_now
from app.live import feed
from app.live.connection import CLOSE_UNAUTHORIZED, FrameCache, LiveConnection
from app.live.feed import LiveEvent, Snapshot
from app.live.topics import Topic, topic_keys

logger = logging.getLogger(__name__)

EVENTS_CHANNEL = "ticket_events"
PRESENCE_CHANNEL = "helpdesk_presence"
AUTH_CHANNEL = "helpdesk_auth"
# Frames for one user's connections, wherever they are served: {"user_id", "frame"}
# (a screen pop for the agent answering a call, app/calls).
USER_FRAMES_CHANNEL = "helpdesk_user_frames"
# Threshold alerts (app/alerts/): announced by the evaluator at commit, to the `alerts` topic.
ALERTS_CHANNEL = "helpdesk_alerts"
HUB_APPLICATION_NAME = "helpdesk-event-hub"

TopicKey = tuple[str, int | None]


class EventHub:
    def __init__(self, database_url: str, engine: AsyncEngine, poll_interval: float) -> None:
        self._connect_args = asyncpg_connect_args(database_url)
        self._engine = engine
        self._poll_interval = poll_interval
        self._wake = asyncio.Event()
        self._snapshot: Snapshot | None = None
        self._position: Cursor | None = None
        self._ready = asyncio.Event()
        self._listener: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._connections: dict[str, LiveConnection] = {}
        self._by_topic: dict[TopicKey, set[LiveConnection]] = defaultdict(set)
        self._caught_up_at = time.monotonic()

    # -- lifecycle ---------------------------------------------------------------

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="event-hub")
        await asyncio.wait_for(self._ready.wait(), timeout=30)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for connection in list(self._connections.values()):
            connection.close(1001)
        await self._drop_listener()

    @property
    def position(self) -> Cursor:
        assert self._position is not None, "the hub has not started"
        return self._position

    async def _run(self) -> None:
        backoff = 0.1
        while True:
            try:
                await self._connect()
                backoff = 0.1
                await self._pump()
            except asyncio.CancelledError:
                raise
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                logger.warning("event hub lost the database (%s); reconnecting", exc)
            except Exception:
                logger.exception("event hub failed; restarting it")
            await self._drop_listener()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

    async def _connect(self) -> None:
        listener = await asyncpg.connect(
            **self._connect_args,
            timeout=10,
            server_settings={"application_name": HUB_APPLICATION_NAME},
        )
        self._listener = listener
        await listener.add_listener(EVENTS_CHANNEL, self._on_event_notice)
        await listener.add_listener(PRESENCE_CHANNEL, self._on_presence_notice)
        await listener.add_listener(AUTH_CHANNEL, self._on_auth_notice)
        await listener.add_listener(USER_FRAMES_CHANNEL, self._on_user_frame)
        await listener.add_listener(ALERTS_CHANNEL, self._on_alert_notice)
        listener.add_termination_listener(lambda _connection: self._wake.set())
        if self._snapshot is None:
            # Live from now: what committed before the hub started is history (REST, replay).
            self._snapshot = await feed.current_snapshot(listener)
            self._position = cursor_now(self._snapshot.xmin)
            self._ready.set()
        # After a reconnect the next batch backfills whatever committed meanwhile.
        self._wake.set()

    async def _drop_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None and not listener.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(listener.close(), timeout=2)

    async def _pump(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll_interval)
            self._wake.clear()
            listener = self._listener
            if listener is None or listener.is_closed():
                raise ConnectionError("LISTEN connection closed")
            assert self._snapshot is not None
            if not self._connections:
                # Nobody to tell: move the position on without reading the events (one
                # statement instead of a transaction of four). Whoever connects later
                # replays from their own cursor, as for anything before the hub started.
                snapshot = await feed.current_snapshot(listener)
                if not self._connections:
                    self._snapshot = snapshot
                    self._fan_out([], snapshot.xmin)
                    continue
            snapshot, events = await feed.read_batch(listener, self._snapshot)
            self._snapshot = snapshot
            self._fan_out(events, snapshot.xmin)
            self._close_expired()

    # -- fan-out -----------------------------------------------------------------

    def _fan_out(self, events: list[LiveEvent], xmin: int) -> None:
        before = self.position
        after = before.advanced_to(xmin)
        self._position = after
        self._caught_up_at = time.monotonic()
        if not events:
            return
        per_connection: dict[LiveConnection, list[LiveEvent]] = defaultdict(list)
        for event in events:
            for connection in self._audience(event):
                per_connection[connection].append(event)
        before_text, after_text = before.encode(), after.encode()
        frames = FrameCache()
        for connection, batch in per_connection.items():
            for index, event in enumerate(batch):
                # Only after the batch's last event does the client hold everything
                # below the new position; until then its cursor stays where it was.
                cursor = after_text if index == len(batch) - 1 else before_text
                connection.deliver(event, cursor, frames)

    def _audience(self, event: LiveEvent) -> set[LiveConnection]:
        audience: set[LiveConnection] = set()
        for key in topic_keys(event.routing):
            for connection in self._by_topic.get(key, ()):
                if connection.staff:
                    if key[0] != "mine":
                        audience.add(connection)
                elif event.public and connection.user_id in (
                    event.routing.requester_id,
                    event.routing.created_by_id,
                ):
                    audience.add(connection)
        return audience

    # -- connections -------------------------------------------------------------

    def attach(self, connection: LiveConnection) -> None:
        self._connections[connection.id] = connection

    def detach(self, connection: LiveConnection) -> None:
        self._connections.pop(connection.id, None)
        for topic in connection.topics.values():
            self._by_topic[_key(topic)].discard(connection)
            if not self._by_topic[_key(topic)]:
                del self._by_topic[_key(topic)]
        connection.topics.clear()

    def subscribe(self, connection: LiveConnection, topics: list[Topic]) -> None:
        if connection.closing:
            return  # it has left the hub for good (a subscribe that raced its close)
        for topic in topics:
            connection.topics[topic.name] = topic
            self._by_topic[_key(topic)].add(connection)

    def unsubscribe(self, connection: LiveConnection, names: list[str]) -> None:
        for name in names:
            topic = connection.topics.pop(name, None)
            if topic is not None:
                self._by_topic[_key(topic)].discard(connection)

    def subscriber_count(self) -> int:
        return len(self._connections)

    @property
    def lag_seconds(self) -> float:
        """Seconds since the hub last read the feed up to date (about the poll interval
        when healthy; it grows while the LISTEN connection is down or reads stall)."""
        return time.monotonic() - self._caught_up_at

    @contextlib.asynccontextmanager
    async def database(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection for a replay, as a plain asyncpg connection."""
        async with self._engine.connect() as connection:
            raw = await connection.get_raw_connection()
            driver: asyncpg.Connection = raw.driver_connection
            yield driver

    # -- presence and auth -------------------------------------------------------

    async def announce_presence(
        self, connection: LiveConnection, ticket_id: int, state: str, *, chat: bool = False
    ) -> None:
        payload = {
            "ticket_id": ticket_id,
            "chat": chat,
            "user": {"id": connection.user_id, "name": connection.viewer.name},
            "state": state,
            "expires_at": datetime.fromtimestamp(time.time() + 60, UTC).isoformat(),
            "connection": connection.id,
        }
        if state == "left":
            connection.presence_tickets.discard(ticket_id)
        else:
            connection.presence_tickets.add(ticket_id)
        async with self.database() as db:
            await db.execute("SELECT pg_notify($1, $2)", PRESENCE_CHANNEL, json.dumps(payload))

    def _on_presence_notice(self, _c: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            notice: dict[str, Any] = json.loads(payload)
            ticket_id = int(notice["ticket_id"])
        except (ValueError, KeyError, TypeError):
            return
        frame = {
            "type": "presence",
            "ticket_id": ticket_id,
            "user": notice.get("user"),
            "state": notice.get("state"),
            "expires_at": notice.get("expires_at"),
        }
        # In a chat the customer sees staff typing (and staff the customer); otherwise
        # presence is for colleagues, never customers. Never back to its sender.
        to_customers = bool(notice.get("chat")) and frame["state"] in ("typing", "left")
        # A copy: a send that overflows a slow client's outbox detaches it right away.
        for connection in list(self._by_topic.get(("ticket", ticket_id), ())):
            if connection.id == notice.get("connection"):
                continue
            if connection.staff or to_customers:
                connection.send(frame)

    def _on_alert_notice(self, _c: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            notice: dict[str, Any] = json.loads(payload)
        except ValueError:
            return
        frame = {"type": "alert", "event": notice}
        # A copy: a send that overflows a slow client's outbox detaches it right away.
        for connection in list(self._by_topic.get(("alerts", None), ())):
            if connection.staff:  # alerts are for staff only
                connection.send(frame)

    def _on_auth_notice(self, _c: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            notice: dict[str, Any] = json.loads(payload)
        except ValueError:
            return
        for connection in list(self._connections.values()):
            if notice.get("token_id") == connection.token_id or (
                notice.get("user_id") == connection.user_id
            ):
                connection.close(CLOSE_UNAUTHORIZED)

    def _on_user_frame(self, _c: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            notice: dict[str, Any] = json.loads(payload)
            user_id, frame = int(notice["user_id"]), notice["frame"]
        except (ValueError, KeyError, TypeError):
            return
        if not isinstance(frame, dict):
            return
        for connection in list(self._connections.values()):
            if connection.user_id == user_id:
                connection.send(frame)

    def _on_event_notice(self, _c: object, _pid: int, _channel: str, _payload: str) -> None:
        self._wake.set()

    def _close_expired(self) -> None:
        now = datetime.now(UTC)
        for connection in list(self._connections.values()):
            if connection.token_expires_at is not None and connection.token_expires_at <= now:
                connection.close(CLOSE_UNAUTHORIZED)


def _key(topic: Topic) -> TopicKey:
    return (topic.kind, topic.ref)
