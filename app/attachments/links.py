"""Signed download links: what a notification email carries for a file too large to
attach. The link works without a token until it expires, for that one file only."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

LINK_LIFETIME = timedelta(days=30)


def _signature(secret: str, attachment_id: int, expires: int) -> str:
    message = f"attachment:{attachment_id}:{expires}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_path(secret: str, attachment_id: int, now: datetime | None = None) -> str:
    """`/api/v1/attachments/{id}/download?expires=...&signature=...`."""
    expires = int(((now or datetime.now(UTC)) + LINK_LIFETIME).timestamp())
    signature = _signature(secret, attachment_id, expires)
    return f"/api/v1/attachments/{attachment_id}/download?expires={expires}&signature={signature}"


def valid(secret: str, attachment_id: int, expires: int, signature: str) -> bool:
    if expires < datetime.now(UTC).timestamp():
        return False
    # Bytes: compare_digest refuses str with characters outside ASCII.
    expected = _signature(secret, attachment_id, expires).encode()
    return hmac.compare_digest(expected, signature.encode("utf-8", "surrogateescape"))
