"""Replies going back out through the connector a conversation came in by.

A public message from staff on a ticket that a connector's thread is on (see
app/inbound/posts.py) becomes one webhook delivery per thread, to each active endpoint
of that thread's integration (`webhook_endpoints.integration_id`), whatever kinds the
endpoint subscribes to. The connector (a WhatsApp, Facebook or Telegram bridge) posts
it on the thread. The body the endpoint receives (Standard Webhooks, signed):

    {"type": "channel.reply", "timestamp": "...", "data": {
        "event": {"id", "kind": "channel.reply", "ticket_id", "created_at"},
        "ticket": {"id", "subject", "status"},
        "reply": {"source", "thread_ref", "to": {"handle", "customer_id"},
                  "message": {"id", "body", "author": {"id", "name"}},
                  "attachments": [{"id", "filename", "content_type", "size", "sha256"}]}}}

Written in the transaction of the reply, like every outbox row: it leaves after commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select

from app.events.reactions import Batch
from app.events.records import Recorded
from app.models import (
    STAFF_ROLES,
    ChannelThread,
    DeliveryChannel,
    DeliveryStatus,
    Message,
    NotificationDelivery,
    Visibility,
    WebhookEndpoint,
)

REPLY_KIND = "channel.reply"
REPLY_ATTEMPTS = 10
_STAFF = frozenset(role.value for role in STAFF_ROLES)


async def send_replies(batch: Batch, recorded: Sequence[Recorded]) -> None:
    replies = [
        r
        for r in recorded
        if r.event.visibility is Visibility.PUBLIC
        and r.event.data.get("author_role") in _STAFF
        and "message_id" in r.event.data
    ]
    if not replies:
        return
    session = batch.session
    ticket_ids = {r.ticket.id for r in replies}
    threads = (
        await session.execute(
            select(ChannelThread, WebhookEndpoint.id)
            .join(WebhookEndpoint, WebhookEndpoint.integration_id == ChannelThread.integration_id)
            .where(ChannelThread.ticket_id.in_(ticket_ids), WebhookEndpoint.active.is_(True))
            .order_by(ChannelThread.id, WebhookEndpoint.id)
        )
    ).all()
    if not threads:
        return
    message_ids = [int(r.event.data["message_id"]) for r in replies]
    rows_found = await session.execute(
        select(Message.id, Message.body).where(Message.id.in_(message_ids))
    )
    bodies: dict[int, str] = {message_id: body for message_id, body in rows_found}
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    for item in replies:
        event, ticket = item.event, item.ticket
        message_id = int(event.data["message_id"])
        for thread, endpoint_id in threads:
            if thread.ticket_id != ticket.id:
                continue
            payload = {
                "event": {
                    "id": event.id,
                    "kind": REPLY_KIND,
                    "ticket_id": ticket.id,
                    "created_at": (event.created_at or now).isoformat(),
                },
                "ticket": {"id": ticket.id, "subject": ticket.subject, "status": item.status.value},
                "reply": {
                    "source": thread.source,
                    "thread_ref": thread.thread_ref,
                    "to": {"handle": thread.handle, "customer_id": thread.customer_id},
                    "message": {
                        "id": message_id,
                        "body": bodies.get(message_id, ""),
                        "author": None
                        if item.actor is None
                        else {"id": item.actor.id, "name": item.actor.name},
                    },
                    "attachments": event.data.get("attachments", []),
                },
            }
            rows.append(
                {
                    "ticket_id": ticket.id,
                    "recipient_id": None,
                    "webhook_id": endpoint_id,
                    "channel": DeliveryChannel.WEBHOOK,
                    "event_ids": [event.id],
                    "payload": payload,
                    "status": DeliveryStatus.PENDING,
                    "attempts": 0,
                    "max_attempts": REPLY_ATTEMPTS,
                    "next_attempt_at": now,
                    "idempotency_key": f"reply_{uuid.uuid4().hex}",
                    "created_at": now,
                    "updated_at": now,
                }
            )
    if rows:
        await session.flush()
        await session.execute(insert(NotificationDelivery), rows)
