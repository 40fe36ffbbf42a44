"""Webhooks: signed POSTs to third-party endpoints (Standard Webhooks).

Every attempt of a delivery carries the same `webhook-id` (the delivery's idempotency
key), so a receiver recognises a repeat after a crash or a redelivery. The target is
checked again before each attempt (see app.notifications.channels.targets): a URL that
now resolves to a refused address fails for good, and the send goes to the address that
was checked.
Redirects are never followed: a 3xx is a failure like any other non-2xx.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from app.config import Settings
from app.notifications.channels.base import Outcome, Outgoing
from app.notifications.channels.targets import (
    TargetPolicy,
    TargetRefused,
    TargetUnresolved,
    vet_target,
)

USER_AGENT = "helpdesk-webhooks/1"
_KEPT_RESPONSE_BYTES = 1000  # of a failed answer, for last_error; the rest is not read


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of id.timestamp.body>` with the key inside `whsec_...`."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


class WebhookChannel:
    def __init__(self, client: httpx.AsyncClient, settings: Settings) -> None:
        self.client = client
        self.policy = TargetPolicy.from_settings(settings)
        self.timeout = httpx.Timeout(settings.webhook_timeout_seconds)

    async def send(self, outgoing: Outgoing) -> Outcome:
        endpoint, delivery = outgoing.endpoint, outgoing.delivery
        assert endpoint is not None
        try:
            target = await vet_target(endpoint.url, self.policy)
        except TargetRefused as exc:
            return Outcome(delivered=False, error=f"target refused: {exc}"[:500], permanent=True)
        except TargetUnresolved as exc:
            return Outcome(delivered=False, error=str(exc)[:500])
        event = delivery.payload.get("event", {})
        body = json.dumps(
            {
                "type": event.get("kind"),
                "timestamp": event.get("created_at"),
                "data": delivery.payload,
            },
            separators=(",", ":"),
        ).encode()
        timestamp = int(time.time())
        headers = {
            **target.headers,
            "content-type": "application/json",
            "webhook-id": delivery.idempotency_key,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(endpoint.secret, delivery.idempotency_key, timestamp, body),
            "user-agent": USER_AGENT,
        }
        request = self.client.build_request(
            "POST",
            target.url,
            content=body,
            headers=headers,
            timeout=self.timeout,
            extensions=target.extensions,
        )
        try:
            response = await self.client.send(request, stream=True, follow_redirects=False)
            try:
                code = response.status_code
                excerpt = b"" if 200 <= code < 300 else await _read_some(response)
            finally:
                await response.aclose()
        except httpx.HTTPError as exc:
            return Outcome(delivered=False, error=f"{type(exc).__name__}: {exc}"[:500])
        if 200 <= code < 300:
            return Outcome(delivered=True, response_code=code)
        if code == 410:
            return Outcome(
                delivered=False,
                response_code=code,
                error="410 Gone",
                permanent=True,
                disable_endpoint=True,
            )
        retry_after = retry_after_seconds(response.headers.get("retry-after"))
        return Outcome(
            delivered=False,
            response_code=code,
            error=excerpt.decode(errors="replace")[:300] or f"HTTP {code}",
            retry_after_seconds=retry_after if code in (429, 503) else None,
        )


async def _read_some(response: httpx.Response) -> bytes:
    kept = b""
    async for chunk in response.aiter_bytes():
        kept += chunk
        if len(kept) >= _KEPT_RESPONSE_BYTES:
            break
    return kept[:_KEPT_RESPONSE_BYTES]


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as delay-seconds or an HTTP-date (RFC 9110 10.2.3)."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
