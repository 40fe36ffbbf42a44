"""Mail as clients send it, and posting it to the intake endpoint."""

from __future__ import annotations

import itertools
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from datetime import UTC, datetime
from typing import Any

from httpx import AsyncClient, Response

from tests.factories import Actor

_numbers = itertools.count(1)
DESK = "support@desk.example"


def mail(
    *,
    sender: str = "Ada Lovelace <ada@example.com>",
    to: str = DESK,
    subject: str = "Printer on fire",
    body: str = "Hello,\n\nthe printer on floor 3 is on fire.\n\nAda",
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    cc: str | None = None,
    headers: dict[str, str] | None = None,
    attachments: list[tuple[str, str, bytes]] = (),  # type: ignore[assignment]
) -> bytes:
    """A plain mail as a mail client would write it."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    if cc:
        message["Cc"] = cc
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = message_id or make_msgid(f"m{next(_numbers)}", "client.example")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = references
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    for filename, content_type, content in attachments:
        maintype, subtype = content_type.split("/", 1)
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return bytes(message)


async def post_mail(client: AsyncClient, actor: Actor, raw: bytes, **headers: str) -> Response:
    return await client.post(
        "/api/v1/inbound/email",
        content=raw,
        headers={**actor.headers, "Content-Type": "message/rfc822", **headers},
    )


async def take_in(client: AsyncClient, actor: Actor, raw: bytes) -> dict[str, Any]:
    response = await post_mail(client, actor, raw)
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body
