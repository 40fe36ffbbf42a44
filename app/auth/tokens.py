"""Opaque bearer tokens: 256 random bits shown once, stored as their SHA-256."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "hd_"  # noqa: S105 - not a secret: lets secret scanners recognise a leaked token


def mint_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
