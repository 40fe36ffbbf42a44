"""The generic channel: messages a connector brings in (`POST /inbound/messages`), from
WhatsApp, Facebook, Telegram, a web widget, anything with threads.

A message is known by (integration, source, external_id): the same one again answers
the first outcome. Its thread (integration, source, thread_ref) is one ticket: the
first message opens it, the rest are added to it (or to the primary it was merged
into, or to a follow-up once it is closed), and the thread follows. The sender is found
(or made a customer) by their handle on the source, the identity the connector vouches
for; the address or number they merely claim is kept with the raw message, never
matched. Public replies on the ticket go back out through the integration's webhook
(app/inbound/replies.py).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.attachments.records import NewAttachment
from app.identities.normalise import IdentityRef, InvalidIdentity
from app.inbound import identify, recording
from app.inbound.conversations import find_thread, follow_thread, lock_thread
from app.inbound.intake import (
    Decision,
    IncomingFile,
    IncomingMessage,
    Refused,
    SenderIdentity,
)
from app.inbound.pipeline import Arrival, Reading
from app.inbound.schemas import InboundPostIn
from app.models import Channel, IdentityKind, Ticket

CHANNEL = "message"
SUBJECT_CHARS = 80


def connector_of(integration_id: int) -> str:
    return f"integration:{integration_id}"


def raw_of(integration_id: int, post: InboundPostIn) -> bytes:
    """What is kept of a post: the post as given and who brought it, so a quarantined
    one can be recorded again from its raw bytes alone."""
    envelope = {"integration_id": integration_id, "message": post.model_dump(mode="json")}
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()


def checked(post: InboundPostIn) -> tuple[IdentityRef, list[IncomingFile]]:
    """The sender's identity and the files, or InvalidIdentity / ValueError: what the
    router answers 422 with before anything is kept."""
    identity = IdentityRef.handle(post.source, post.sender.handle)
    files = []
    for item in post.attachments:
        try:
            content = base64.b64decode(item.content_base64, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"attachment {item.filename or ''!r} is not valid base64") from None
        files.append(IncomingFile(item.filename, item.content_type, content))
    return identity, files


@dataclass(frozen=True, slots=True)
class _Post:
    integration_id: int
    post: InboundPostIn
    identity: IdentityRef


class PostAdapter:
    channel = CHANNEL

    def __init__(self, search_config: str) -> None:
        self.search_config = search_config

    async def read(self, raw: bytes, arrival: Arrival) -> Reading:
        try:
            envelope = json.loads(raw)
            integration_id = int(envelope["integration_id"])
            post = InboundPostIn.model_validate(envelope["message"])
            identity, files = checked(post)
        except (ValueError, KeyError, TypeError, ValidationError, InvalidIdentity) as error:
            detail = str(error).splitlines()[0][:300] if str(error) else type(error).__name__
            return Reading(
                external_id=f"unreadable/{hashlib.sha256(raw).hexdigest()}",
                sender=None,
                subject=None,
                refused=Refused("unparseable", f"the message cannot be read: {detail}"),
            )
        return Reading(
            external_id=f"{integration_id}/{identity.source}/{post.external_id}",
            sender=f"{identity.source}:{identity.value}",
            subject=_subject(post.body, identity.source),
            files=files,
            payload=_Post(integration_id, post, identity),
        )

    async def record(
        self,
        session: AsyncSession,
        reading: Reading,
        arrival: Arrival,
        files: Sequence[NewAttachment],
    ) -> Decision:
        item: _Post = reading.payload
        post, identity = item.post, item.identity
        connector = connector_of(item.integration_id)
        await lock_thread(session, connector, identity.source, post.thread_ref)
        thread = await find_thread(session, connector, identity.source, post.thread_ref)
        candidates = [] if thread is None else [(thread.ticket_id, "thread")]
        message = IncomingMessage(
            channel=Channel.SOCIAL,
            sender=SenderIdentity(
                IdentityKind.HANDLE.value, identity.value, post.sender.name or "", identity.source
            ),
            subject=reading.subject or "",
            body=post.body,
            full_text=post.body,
            sent_at=post.sent_at,
        )
        decision = await recording.deliver(
            session,
            message,
            search_config=self.search_config,
            files=files,
            candidates=candidates,
        )
        if decision.ticket_id is not None:
            ticket = await session.get(Ticket, decision.ticket_id)
            sender = await identify.find_sender(session, message.sender)
            if ticket is not None and sender is not None:
                await follow_thread(
                    session,
                    connector=connector,
                    integration_id=item.integration_id,
                    source=identity.source,
                    thread_ref=post.thread_ref,
                    ticket_id=ticket.id,
                    customer_id=sender.id if not sender.role.is_staff else ticket.requester_id,
                    handle=identity.value,
                    at=datetime.now(UTC),
                )
        return decision


def _subject(body: str, source: str) -> str:
    first = " ".join(body.split())
    if not first:
        return f"A message on {source}"
    return first if len(first) <= SUBJECT_CHARS else first[: SUBJECT_CHARS - 1] + "…"
