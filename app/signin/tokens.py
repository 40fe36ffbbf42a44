"""Sign-in link tokens: derived, never stored.

token = HMAC(service secret, nonce). The link row keeps only the token's SHA-256; the
nonce travels in the outbox row and the email is written from it. Neither the database
alone (hash, nonce) nor the secret alone makes a token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

TOKEN_PREFIX = "sl_"  # noqa: S105 - not a secret: marks a sign-in link token
_TOKEN_BYTES = 16  # 128 bits
_MAX_TOKEN_CHARS = 100


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


def link_token(secret: str, nonce: str) -> str:
    digest = hmac.new(secret.encode(), f"sign-in:{nonce}".encode(), hashlib.sha256).digest()
    return TOKEN_PREFIX + base64.urlsafe_b64encode(digest[:_TOKEN_BYTES]).rstrip(b"=").decode()


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def plausible(token: str) -> bool:
    """Cheap shape check before a lookup; anything else is simply not valid."""
    return token.startswith(TOKEN_PREFIX) and len(token) <= _MAX_TOKEN_CHARS
