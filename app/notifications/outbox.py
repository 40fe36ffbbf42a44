"""Writing deliveries into the outbox, in the transaction of the change that calls for them.

Called for every timeline event by the recorder. Email and SMS to one person about one
ticket are coalesced: a change right after another joins the delivery not yet sent,
or, if one was just sent, waits out a short window and goes with whatever else comes,
so nobody gets five emails in a minute. Webhooks get every event, one by one.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import (
    DeliveryChannel,
    DeliveryStatus,
    NotificationDelivery,
    TeamMember,
    Ticket,
    TicketEvent,
    TicketFollower,
    User,
    Visibility,
    WebhookEndpoint,
)
from app.notifications.preferences import channels_for, load_preferences
from app.notifications.rules import Notice, NoticeTopic, Part, Situation, notices_for

EMAIL_ATTEMPTS = 8
WEBHOOK_ATTEMPTS = 10


class OutboxSettings:
    """The few settings the outbox needs, read once per process."""

    coalesce_window = timedelta(seconds=60)
    mail_domain = "helpdesk.localhost"


def configure(coalesce_seconds: float, mail_domain: str) -> None:
    OutboxSettings.coalesce_window = timedelta(seconds=coalesce_seconds)
    OutboxSettings.mail_domain = mail_domain


def message_id(ticket_id: int | None) -> str:
    scope = f"ticket-{ticket_id}" if ticket_id is not None else "notice"
    return f"<{uuid.uuid4().hex}.{scope}@{OutboxSettings.mail_domain}>"


async def enqueue_for_event(
    session: AsyncSession, ticket: Ticket, event: TicketEvent, actor: User | None
) -> None:
    situation = await _situation(session, ticket)
    notices = notices_for(
        event.kind,
        event.data,
        event.visibility is Visibility.PUBLIC,
        actor.id if actor else None,
        situation,
    )
    if notices:
        await _enqueue_notices(session, ticket, event, actor, notices)
    await _enqueue_webhooks(session, ticket, event, actor)


async def enqueue_personal_notice(
    session: AsyncSession,
    recipient_id: int,
    topic: NoticeTopic,
    *,
    kind: str,
    data: dict[str, Any],
    ticket: Ticket | None = None,
) -> None:
    """Tell one person something that is not (only) a ticket event: a survey, the status
    of their feedback, a disabled webhook. Same preferences, channels and coalescing."""
    recipient = await session.get(User, recipient_id)
    if recipient is None or not recipient.active:
        return
    notice = Notice(recipient.id, topic, Part.REQUESTER)
    preferences = await load_preferences(session, [recipient.id])
    entry = {
        "event_id": None,
        "kind": kind,
        "part": notice.part.value,
        "topic": topic.value,
        "data": data,
        "actor": None,
        "at": datetime.now(UTC).isoformat(),
    }
    now = datetime.now(UTC)
    for channel in channels_for(notice, recipient, preferences):
        if ticket is not None:
            await _add_or_coalesce(session, ticket, None, recipient, channel, entry, now)
            continue
        session.add(
            NotificationDelivery(
                recipient_id=recipient.id,
                channel=channel,
                event_ids=[],
                payload={"ticket": None, "notices": [entry]},
                status=DeliveryStatus.PENDING,
                attempts=0,
                max_attempts=EMAIL_ATTEMPTS,
                next_attempt_at=now,
                idempotency_key=message_id(None)
                if channel is DeliveryChannel.EMAIL
                else _key("sms"),
                created_at=now,
                updated_at=now,
            )
        )
    await session.flush()


async def _situation(session: AsyncSession, ticket: Ticket) -> Situation:
    followers = set(
        await session.scalars(
            select(TicketFollower.user_id).where(TicketFollower.ticket_id == ticket.id)
        )
    )
    team: set[int] = set()
    if ticket.owner_id is None and ticket.team_id is not None:
        team = set(
            await session.scalars(
                select(TeamMember.user_id).where(TeamMember.team_id == ticket.team_id)
            )
        )
    return Situation(
        requester_id=ticket.requester_id,
        owner_id=ticket.owner_id,
        team_member_ids=frozenset(team),
        follower_ids=frozenset(followers),
    )


def _notice_payload(event: TicketEvent, actor: User | None, notice: Notice) -> dict[str, Any]:
    return {
        "event_id": event.id,
        "kind": event.kind,
        "part": notice.part.value,
        "topic": notice.topic.value,
        "data": event.data,
        "actor": None
        if actor is None
        else {"id": actor.id, "name": actor.name, "role": actor.role.value},
        "at": event.created_at.isoformat() if event.created_at else None,
    }


async def _enqueue_notices(
    session: AsyncSession,
    ticket: Ticket,
    event: TicketEvent,
    actor: User | None,
    notices: list[Notice],
) -> None:
    recipients = {
        user.id: user
        for user in await session.scalars(
            select(User).where(
                User.id.in_([n.recipient_id for n in notices]), User.active.is_(True)
            )
        )
    }
    preferences = await load_preferences(session, recipients)
    now = datetime.now(UTC)
    for notice in notices:
        user = recipients.get(notice.recipient_id)
        if user is None:
            continue
        entry = _notice_payload(event, actor, notice)
        for channel in channels_for(notice, user, preferences):
            await _add_or_coalesce(session, ticket, event, user, channel, entry, now)


async def _add_or_coalesce(
    session: AsyncSession,
    ticket: Ticket,
    event: TicketEvent | None,
    recipient: User,
    channel: DeliveryChannel,
    entry: dict[str, Any],
    now: datetime,
) -> None:
    waiting = await session.scalar(
        select(NotificationDelivery)
        .where(
            NotificationDelivery.recipient_id == recipient.id,
            NotificationDelivery.channel == channel,
            NotificationDelivery.ticket_id == ticket.id,
            NotificationDelivery.status == DeliveryStatus.PENDING,
            NotificationDelivery.attempts == 0,
        )
        .order_by(NotificationDelivery.id.desc())
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    event_ids = [] if event is None else [event.id]
    if waiting is not None:
        waiting.event_ids = [*waiting.event_ids, *event_ids]
        waiting.payload = {
            **waiting.payload,
            "notices": [*waiting.payload.get("notices", []), entry],
        }
        waiting.updated_at = now
        return
    last_sent = await session.scalar(
        select(func.max(NotificationDelivery.delivered_at)).where(
            NotificationDelivery.recipient_id == recipient.id,
            NotificationDelivery.channel == channel,
            NotificationDelivery.ticket_id == ticket.id,
        )
    )
    window_end = None if last_sent is None else last_sent + OutboxSettings.coalesce_window
    session.add(
        NotificationDelivery(
            ticket_id=ticket.id,
            recipient_id=recipient.id,
            channel=channel,
            event_ids=event_ids,
            payload={"ticket": {"id": ticket.id, "subject": ticket.subject}, "notices": [entry]},
            status=DeliveryStatus.PENDING,
            attempts=0,
            max_attempts=EMAIL_ATTEMPTS,
            next_attempt_at=window_end if window_end is not None and window_end > now else now,
            idempotency_key=message_id(ticket.id)
            if channel is DeliveryChannel.EMAIL
            else _key("sms"),
            created_at=now,
            updated_at=now,
        )
    )
    await session.flush()


async def _enqueue_webhooks(
    session: AsyncSession, ticket: Ticket, event: TicketEvent, actor: User | None
) -> None:
    audience = [
        WebhookEndpoint.active.is_(True),
        WebhookEndpoint.event_kinds.overlap([event.kind, "*"]),
    ]
    if event.visibility is not Visibility.PUBLIC:
        # Internal words leave the desk only for an integration trusted with them.
        audience.append(WebhookEndpoint.include_internal.is_(True))
    endpoints = await session.scalars(select(WebhookEndpoint.id).where(*audience))
    now = datetime.now(UTC)
    for endpoint_id in endpoints:
        session.add(
            NotificationDelivery(
                ticket_id=ticket.id,
                webhook_id=endpoint_id,
                channel=DeliveryChannel.WEBHOOK,
                event_ids=[event.id],
                payload={
                    "ticket": {
                        "id": ticket.id,
                        "subject": ticket.subject,
                        "status": ticket.status.value,
                    },
                    "event": {
                        "id": event.id,
                        "ticket_id": ticket.id,
                        "kind": event.kind,
                        "visibility": event.visibility.value,
                        "actor": None
                        if actor is None
                        else {"id": actor.id, "name": actor.name, "role": actor.role.value},
                        "data": event.data,
                        "ticket_version": event.ticket_version,
                        "created_at": event.created_at.isoformat() if event.created_at else None,
                    },
                },
                status=DeliveryStatus.PENDING,
                attempts=0,
                max_attempts=WEBHOOK_ATTEMPTS,
                next_attempt_at=now,
                idempotency_key=_key("msg"),
                created_at=now,
                updated_at=now,
            )
        )
    await session.flush()


def _key(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"
