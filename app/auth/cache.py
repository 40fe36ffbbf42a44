"""A short-lived per-process cache of bearer token -> user, that never outlives a change.

Looking the token up cost every request a round trip and two ORM rows. The cache keeps
what the lookup found for a few seconds, and forgets it the moment the token or its
user changes:

- in every process: a trigger on `users` and `api_tokens` (migration
  2026-11-23_credential_notices) announces each change that matters on the
  `helpdesk_credentials` channel, delivered at commit; each process LISTENs on its own
  connection and drops what it holds for that user or token;
- in the process that made the change: at once, when its session commits (see
  `forget_on_commit`), without waiting for its own notification;
- while the LISTEN connection is down (or until it is up again after a reconnect,
  when notifications may have been missed) the cache is empty and unused: every
  request looks its token up as before. A heartbeat notices a connection that died
  silently; the time-to-live bounds what nothing could notice.

A lookup that started before a change and finishes after it must not put the old
state back: the cache has a generation, bumped by every change, and a lookup only
stores its result if the generation did not move meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import weakref
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, make_transient_to_detached

from app.models import ApiToken, User

logger = logging.getLogger(__name__)

CREDENTIALS_CHANNEL = "helpdesk_credentials"
LISTENER_APPLICATION_NAME = "helpdesk-credentials"
HEARTBEAT_SECONDS = 5.0
_USER_COLUMNS = tuple(column.key for column in User.__table__.columns)


@dataclass(slots=True)
class CachedToken:
    token_id: int
    expires_at: datetime | None
    last_used_at: datetime | None
    scopes: frozenset[str]
    user: User  # detached, never attached to a session: merged into each request's
    stored_at: float


class TokenCache:
    def __init__(self, ttl_seconds: float) -> None:
        self._ttl = ttl_seconds
        self._entries: dict[bytes, CachedToken] = {}
        self._generation = 0
        self._listening = False
        _caches.add(self)

    @property
    def generation(self) -> int:
        return self._generation

    @property
    def active(self) -> bool:
        return self._ttl > 0 and self._listening

    def get(self, token_hash: bytes) -> CachedToken | None:
        if not self.active:
            return None
        entry = self._entries.get(token_hash)
        if entry is not None and time.monotonic() - entry.stored_at > self._ttl:
            del self._entries[token_hash]
            return None
        return entry

    def put(
        self,
        token_hash: bytes,
        token: ApiToken,
        user: User,
        generation: int,
    ) -> None:
        """Store a lookup's result, unless something changed since it started."""
        if not self.active or generation != self._generation:
            return
        snapshot = User(**{key: getattr(user, key) for key in _USER_COLUMNS})
        make_transient_to_detached(snapshot)
        self._entries[token_hash] = CachedToken(
            token.id,
            token.expires_at,
            token.last_used_at,
            frozenset(token.scopes),
            snapshot,
            time.monotonic(),
        )

    def forget(self, *, user_id: int | None = None, token_id: int | None = None) -> None:
        self._generation += 1
        for key, entry in list(self._entries.items()):
            if entry.user.id == user_id or entry.token_id == token_id:
                del self._entries[key]

    def clear(self) -> None:
        self._generation += 1
        self._entries.clear()

    # -- the LISTEN connection ---------------------------------------------------------

    async def listen(self, connect_args: dict[str, Any]) -> None:
        """Run until cancelled: hold the LISTEN connection, reconnecting as needed."""
        if self._ttl <= 0:
            return
        backoff = 0.1
        while True:
            connection: asyncpg.Connection | None = None
            try:
                connection = await asyncpg.connect(
                    **connect_args,
                    timeout=10,
                    server_settings={"application_name": LISTENER_APPLICATION_NAME},
                )
                lost = asyncio.Event()
                connection.add_termination_listener(lambda _c, lost=lost: lost.set())
                await connection.add_listener(CREDENTIALS_CHANNEL, self._on_notice)
                # Whatever changed while nobody listened is unknown: start empty.
                self.clear()
                self._listening = True
                backoff = 0.1
                while not lost.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), timeout=HEARTBEAT_SECONDS)
                    if not lost.is_set():
                        await asyncio.wait_for(connection.fetchval("SELECT 1"), timeout=2)
                logger.warning("credentials listener lost its connection; reconnecting")
            except asyncio.CancelledError:
                raise
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                logger.warning("credentials listener failed (%s); reconnecting", exc)
            finally:
                self._listening = False
                self.clear()
                if connection is not None and not connection.is_closed():
                    connection.terminate()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

    def _on_notice(self, _c: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            notice = json.loads(payload)
            user_id, token_id = notice.get("user_id"), notice.get("token_id")
        except (ValueError, AttributeError):
            notice, user_id, token_id = None, None, None
        if isinstance(user_id, int) or isinstance(token_id, int):
            self.forget(user_id=user_id, token_id=token_id)
        else:
            self.clear()


# -- forgetting at once in the process that made the change -------------------------------

_caches: weakref.WeakSet[TokenCache] = weakref.WeakSet()
_CHANGED = "credentials_changed"
TOKEN_TOUCH = "token_touch"  # noqa: S105 - execution option: an update that changes no credential


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, _context: object) -> None:
    changed = (*session.dirty, *session.deleted)
    if any(isinstance(item, User | ApiToken) for item in changed):
        session.info[_CHANGED] = True


@event.listens_for(Session, "do_orm_execute")
def _executed(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete) or state.execution_options.get(TOKEN_TOUCH):
        return
    if any(mapper.class_ in (User, ApiToken) for mapper in state.all_mappers):
        state.session.info[_CHANGED] = True


@event.listens_for(Session, "after_commit")
def forget_on_commit(session: Session) -> None:
    if session.info.pop(_CHANGED, False):
        for cache in list(_caches):
            cache.clear()


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_CHANGED, None)
