"""schemathesis hooks: how a generated body is sent where schemathesis has no serializer
of its own (a raw mail for POST /inbound/email)."""

from __future__ import annotations

from typing import Any

import schemathesis


@schemathesis.serializer("message/rfc822")
def raw_mail(ctx: Any, value: Any) -> bytes:
    """The generated string or bytes as the raw message, whatever it holds."""
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8", "surrogateescape")
