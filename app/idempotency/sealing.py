"""Sealing stored responses: only a caller holding the Idempotency-Key can open them.

A stored response can hold a secret (a freshly issued API token is shown once), so it
is encrypted with AES-GCM under a key derived from the service secret, the user and
the Idempotency-Key, and the key itself is stored only as a hash.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE_BYTES = 12


def key_hash(user_id: int, key: str) -> bytes:
    return hashlib.sha256(f"idempotency:{user_id}:{key}".encode()).digest()


def _sealing_key(secret: str, user_id: int, key: str) -> bytes:
    return hmac.new(secret.encode(), f"{user_id}:{key}".encode(), hashlib.sha256).digest()


def seal(secret: str, user_id: int, key: str, plaintext: bytes) -> bytes:
    nonce = os.urandom(_NONCE_BYTES)
    return nonce + AESGCM(_sealing_key(secret, user_id, key)).encrypt(nonce, plaintext, None)


def unseal(secret: str, user_id: int, key: str, sealed: bytes) -> bytes:
    nonce, ciphertext = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
    return AESGCM(_sealing_key(secret, user_id, key)).decrypt(nonce, ciphertext, None)
