"""A mailbox's password or access token, sealed (AES-GCM) under a key derived from
HELPDESK_SECRET_KEY, bound to the mailbox's name so one row's secret cannot be
copied into another's. Never returned by the API; unsealed only to log in."""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE_BYTES = 12


def _key(secret_key: str) -> bytes:
    return hmac.new(secret_key.encode(), b"helpdesk:mailbox-secrets", hashlib.sha256).digest()


def seal(secret_key: str, mailbox_name: str, secret: str) -> bytes:
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(_key(secret_key)).encrypt(nonce, secret.encode(), mailbox_name.encode())
    return nonce + sealed


def unseal(secret_key: str, mailbox_name: str, sealed: bytes) -> str:
    nonce, ciphertext = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
    return AESGCM(_key(secret_key)).decrypt(nonce, ciphertext, mailbox_name.encode()).decode()
