"""Twilio's webhook signature (`X-Twilio-Signature`), as Twilio documents it: the
base64 HMAC-SHA1, keyed with the account's auth token, of the full URL Twilio called
(scheme, host, path and query string, exactly as configured at Twilio) followed by
every POST parameter, sorted by name, each name immediately followed by its value.

The URL is the one configured at the provider, not the one this process sees: behind a
proxy or a load balancer the scheme, host and port differ, so it is built from the
configured public base URL (`sms_webhook_base_url`, else `public_base_url`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import parse_qsl

SIGNATURE_HEADER = "x-twilio-signature"


def form_params(body: bytes) -> list[tuple[str, str]]:
    """An application/x-www-form-urlencoded body as its (name, value) pairs, in order."""
    return parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)


def signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    values: dict[str, list[str]] = {}
    for name, value in params:
        values.setdefault(name, []).append(value)
    signed = url + "".join(
        name + value for name in sorted(values) for value in sorted(values[name])
    )
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def verified(
    auth_token: str, url: str, params: Iterable[tuple[str, str]], given: str | None
) -> bool:
    if not given or not auth_token:
        return False
    return hmac.compare_digest(signature(auth_token, url, params).encode(), given.encode())


def called_url(base_url: str, path: str, query: str) -> str:
    """The URL the provider called: the configured base, this path, the query as sent."""
    return base_url.rstrip("/") + path + (f"?{query}" if query else "")
