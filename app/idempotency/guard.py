"""Idempotency-Key for every creating POST.

The same key from the same user within 24 h returns the first response (same status
and body, `Idempotent-Replayed: true`) and creates nothing; the same key with another
body is 422; a duplicate arriving while the first is still running is 409.

How: the request takes a transaction-scoped advisory lock on the key, so a concurrent
duplicate finds it taken (409) instead of racing. The response is stored in the same
transaction as the change it describes: either both commit or neither does, so a crash
never leaves a change without its stored response, or a response without its change.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from cryptography.exceptions import InvalidTag
from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.dependencies import CurrentUser
from app.db import DbSession
from app.errors import Conflict, UnprocessableEntity
from app.idempotency import sealing
from app.models import IdempotencyRecord, User

RETENTION = timedelta(hours=24)
REPLAYED_HEADER = "Idempotent-Replayed"
_REPLAYED_HEADERS = ("location", "etag")


class IdempotentReplay(Exception):
    """Raised to short-circuit a retried request with its stored first response."""

    def __init__(self, status_code: int, body: Any, headers: dict[str, str]) -> None:
        super().__init__("idempotent replay")
        self.status_code = status_code
        self.body = body
        self.headers = headers


class Idempotency:
    """The request's idempotency state. `respond` must build every successful answer."""

    def __init__(
        self, session: AsyncSession, user: User, key: str | None, request_hash: bytes, secret: str
    ) -> None:
        self._session = session
        self._user = user
        self._key = key
        self._request_hash = request_hash
        self._secret = secret

    async def claim(self) -> None:
        if self._key is None:
            return
        key_hash = sealing.key_hash(self._user.id, self._key)
        lock_id = int.from_bytes(key_hash[:8], "big", signed=True)
        locked = await self._session.scalar(select(func.pg_try_advisory_xact_lock(lock_id)))
        if not locked:
            raise Conflict(
                "A request with this Idempotency-Key is still in progress; retry shortly.",
                headers={"Retry-After": "1"},
            )
        record = await self._session.scalar(
            select(IdempotencyRecord).where(IdempotencyRecord.key_hash == key_hash)
        )
        if record is None:
            return
        if record.expires_at <= datetime.now(UTC):
            await self._session.execute(
                delete(IdempotencyRecord).where(IdempotencyRecord.id == record.id)
            )
            return
        if record.request_hash != self._request_hash:
            raise UnprocessableEntity(
                "This Idempotency-Key was already used with a different request; "
                "use a new key for a new request.",
                loc=("header", "Idempotency-Key"),
            )
        try:
            plaintext = sealing.unseal(self._secret, self._user.id, self._key, record.response)
        except InvalidTag:
            # Sealed under another HELPDESK_SECRET_KEY: it cannot be replayed, and running
            # the request again could create a duplicate.
            raise Conflict(
                "The first response to this Idempotency-Key cannot be replayed after a "
                "change of service secret; check whether it took effect, then use a new key."
            ) from None
        stored = json.loads(plaintext)
        raise IdempotentReplay(record.status_code, stored["body"], stored["headers"])

    async def respond(
        self, model: BaseModel, *, status_code: int, headers: dict[str, str] | None = None
    ) -> JSONResponse:
        body = model.model_dump(mode="json")
        headers = headers or {}
        if self._key is not None:
            plaintext = json.dumps({"body": body, "headers": headers}).encode()
            self._session.add(
                IdempotencyRecord(
                    user_id=self._user.id,
                    key_hash=sealing.key_hash(self._user.id, self._key),
                    request_hash=self._request_hash,
                    status_code=status_code,
                    response=sealing.seal(self._secret, self._user.id, self._key, plaintext),
                    expires_at=datetime.now(UTC) + RETENTION,
                )
            )
            await self._session.flush()
        return JSONResponse(body, status_code=status_code, headers=headers)


def _request_fingerprint(request: Request, body: bytes) -> bytes:
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError):  # not JSON (a form, raw mail): the bytes as sent
        canonical = body
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.url.path.encode(), request.url.query.encode()):
        digest.update(part + b"\n")
    digest.update(canonical)
    return digest.digest()


async def _idempotency(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=255,
            pattern=r"^[\x21-\x7e]+$",
            description="Makes a retry safe: the same key within 24 h returns the first "
            "response instead of creating again.",
        ),
    ] = None,
) -> Idempotency:
    body = await request.body()
    secret = request.app.state.settings.secret_key.get_secret_value()
    guard = Idempotency(session, user, idempotency_key, _request_fingerprint(request, body), secret)
    await guard.claim()
    return guard


IdempotencyGuard = Annotated[Idempotency, Depends(_idempotency)]


async def replay_response(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, IdempotentReplay)
    headers = {k: v for k, v in exc.headers.items() if k.lower() in _REPLAYED_HEADERS}
    headers[REPLAYED_HEADER] = "true"
    return JSONResponse(exc.body, status_code=exc.status_code, headers=headers)


async def delete_expired(session: AsyncSession, batch: int = 5000) -> int:
    """Remove stored responses past their 24 h; returns how many went."""
    expired = (
        select(IdempotencyRecord.id)
        .where(IdempotencyRecord.expires_at < func.now())
        .limit(batch)
        .scalar_subquery()
    )
    result = await session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.id.in_(expired))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
