"""Mail as clients send it, and posting it to the intake endpoint."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
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


FIXTURES = Path(__file__).parent / "mail" / "fixtures"
_DESK_ID = re.compile(rb"<[0-9a-f]+\.ticket-\d+@desk\.example\.com>")
_DESK_ROOT = re.compile(rb"<ticket-\d+@desk\.example\.com>")
_TAG = re.compile(rb"\[#\d+\]|=5B=23\d+=5D")


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def as_reply(raw: bytes, ticket_id: int, desk_message_id: str, domain: str) -> bytes:
    """A fixture mail made an answer to one of our mails: the desk's Message-IDs in its
    In-Reply-To and References become `desk_message_id`, its ticket tag our ticket."""
    number = str(ticket_id).encode()
    raw = _DESK_ID.sub(desk_message_id.encode(), raw)
    raw = _DESK_ROOT.sub(b"<ticket-" + number + b"@" + domain.encode() + b">", raw)
    return _TAG.sub(
        lambda m: (
            (b"[#" + number + b"]") if m.group().startswith(b"[") else b"=5B=23" + number + b"=5D"
        ),
        raw,
    )


async def desk_message_ids(client: AsyncClient, staff: Actor, ticket_id: int) -> list[str]:
    """The Message-IDs of the mails the desk wrote about a ticket (its outbox)."""
    response = await client.get(f"/api/v1/tickets/{ticket_id}/notifications", headers=staff.headers)
    assert response.status_code == 200, response.text
    return [d["idempotency_key"] for d in response.json()["items"] if d["channel"] == "email"]


async def file_ticket(client: AsyncClient, customer: Actor, subject: str = "Help") -> int:
    response = await client.post(
        "/api/v1/tickets",
        json={"subject": subject, "description": "It does not work."},
        headers=customer.headers,
    )
    assert response.status_code == 201, response.text
    ticket_id: int = response.json()["id"]
    return ticket_id
