"""The id of the request being served: taken from the caller's X-Request-ID when sane,
generated otherwise, and visible to every log record and problem document on its way."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

REQUEST_ID_HEADER = "X-Request-ID"
# Ids from load balancers and tracing tools (UUIDs, 32-hex, base64-ish) fit; anything
# else (control characters, log-injection attempts, overlong values) is replaced.
_SANE = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")

current_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def request_id_from(raw: bytes | None) -> str:
    if raw is not None:
        try:
            candidate = raw.decode("ascii")
        except UnicodeDecodeError:
            candidate = ""
        if _SANE.fullmatch(candidate):
            return candidate
    return uuid.uuid4().hex
