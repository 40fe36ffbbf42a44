"""Webhooks: signed POSTs to third-party endpoints (Standard Webhooks)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import httpx

from app.config import Settings
from app.notifications.channels.base import Outcome, Outgoing


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of id.timestamp.body>` with the key inside `whsec_...`."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


class WebhookChannel:
    def __init__(self, client: httpx.AsyncClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings

    async def send(self, outgoing: Outgoing) -> Outcome:
        endpoint, delivery = outgoing.endpoint, outgoing.delivery
        assert endpoint is not None
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
            "content-type": "application/json",
            "webhook-id": delivery.idempotency_key,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(endpoint.secret, delivery.idempotency_key, timestamp, body),
            "user-agent": "helpdesk-webhooks/1",
        }
        try:
            response = await self.client.post(endpoint.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return Outcome(delivered=False, error=f"{type(exc).__name__}: {exc}"[:500])
        code = response.status_code
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
        retry_after = _retry_after(response.headers.get("retry-after")) if code == 429 else None
        return Outcome(
            delivered=False,
            response_code=code,
            error=response.text[:300] or f"HTTP {code}",
            retry_after_seconds=retry_after,
        )


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
