"""SMS: a Twilio-compatible HTTP provider, or a file mailbox when none is configured."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from urllib.parse import quote

import httpx

from app.notifications.channels.base import Outcome, Outgoing

_UNSAFE = re.compile(r"[^A-Za-z0-9+._-]")


def sms_text(outgoing: Outgoing, limit: int) -> str:
    assert outgoing.rendered is not None
    return outgoing.rendered.as_sms(limit)


class TwilioChannel:
    """POST {base}/2010-04-01/Accounts/{sid}/Messages.json with To, From, Body."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str,
        account_sid: str,
        auth_token: str,
        sender: str,
        limit: int,
        status_callback: str | None = None,
    ) -> None:
        self.client = client
        # Where the provider reports what became of each message (delivered, failed...):
        # the delivery's key rides in the query string, which the provider signs.
        self.status_callback = status_callback
        self.url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self.auth = (account_sid, auth_token)
        self.sender = sender
        self.limit = limit

    async def send(self, outgoing: Outgoing) -> Outcome:
        assert outgoing.recipient is not None
        if not outgoing.recipient.phone:
            return Outcome(
                delivered=False, error="the recipient has no phone number", permanent=True
            )
        try:
            response = await self.client.post(
                self.url,
                auth=self.auth,
                data=self._form(outgoing, outgoing.recipient.phone),
                # Twilio recognises retries of the same request by this header.
                headers={"I-Twilio-Idempotency-Token": outgoing.delivery.idempotency_key},
            )
        except httpx.HTTPError as exc:
            return Outcome(delivered=False, error=f"{type(exc).__name__}: {exc}"[:500])
        if response.is_success:
            return Outcome(delivered=True, response_code=response.status_code)
        permanent = 400 <= response.status_code < 500 and response.status_code not in (408, 429)
        return Outcome(
            delivered=False,
            response_code=response.status_code,
            error=response.text[:500],
            permanent=permanent,
        )

    def _form(self, outgoing: Outgoing, to: str) -> dict[str, str]:
        form = {"To": to, "From": self.sender, "Body": sms_text(outgoing, self.limit)}
        if self.status_callback:
            key = quote(outgoing.delivery.idempotency_key, safe="")
            form["StatusCallback"] = f"{self.status_callback}?delivery={key}"
        return form


class FileSmsBox:
    def __init__(self, directory: Path, limit: int) -> None:
        self.directory = directory
        self.limit = limit

    async def send(self, outgoing: Outgoing) -> Outcome:
        assert outgoing.recipient is not None
        record = {
            "to": outgoing.recipient.phone,
            "body": sms_text(outgoing, self.limit),
            "idempotency_key": outgoing.delivery.idempotency_key,
        }
        name = _UNSAFE.sub("_", outgoing.delivery.idempotency_key) + ".json"
        await asyncio.to_thread(
            _write, self.directory, name, json.dumps(record, ensure_ascii=False)
        )
        return Outcome(delivered=True)


def _write(folder: Path, name: str, content: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / (name + ".part")
    partial.write_text(content)
    partial.replace(folder / name)
