"""Survey link tokens: derived, never stored.

token = HMAC(service secret, ticket, resolution, nonce). The survey row keeps only the
token's SHA-256 and the nonce; the invitation keeps the nonce and re-derives the token
when the email is written. The database alone (nonce, hash) cannot produce a token, and
neither can the secret alone.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

TOKEN_PREFIX = "sv_"  # noqa: S105 - not a secret: marks a survey token in logs and scanners
# 128 bits: unguessable, and short enough that the link stays on one line of a
# quoted-printable email body (a link broken by a soft line break is hard to copy).
_TOKEN_BYTES = 16
_MAX_TOKEN_CHARS = 100


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


def survey_token(secret: str, ticket_id: int, resolution: int, nonce: str) -> str:
    message = f"survey:{ticket_id}:{resolution}:{nonce}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()[:_TOKEN_BYTES]
    return TOKEN_PREFIX + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def plausible(token: str) -> bool:
    """Cheap shape check before a lookup; anything else is simply not found."""
    return token.startswith(TOKEN_PREFIX) and len(token) <= _MAX_TOKEN_CHARS
