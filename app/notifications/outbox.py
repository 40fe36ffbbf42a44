"""Writing deliveries into the outbox, in the transaction of the change that calls for them.

Called for every batch of timeline events by the outbox reaction (the last one). Email
and SMS to one person about one ticket are coalesced: a change right after another
joins the delivery not yet sent, or, if one was just sent, waits out a short window and
goes with whatever else comes, so nobody gets five emails in a minute. Webhooks get
every event, one by one.

Set-based: a batch of events (a create with its routing, a handover batch of 25 tickets)
costs the same handful of statements as one event: who is around the tickets, who
wants which channel, which unsent deliveries to join, one multi-row INSERT.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, insert, inspect, select, text, tuple_
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.util import identity_key
from sqlalchemy.types import BigInteger, DateTime, String

from app.events.audience import Audience, project_data
from app.events.reactions import Slot
from app.events.records import Recorded
from app.models import (
    Channel,
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
from app.notifications.rules import (
    Notice,
    NoticeTopic,
    Part,
    Situation,
    notices_for,
    uses_team,
)

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


@dataclass(frozen=True, slots=True)
class PersonalNotice:
    """Something for one person that is not (only) a ticket event: a brief, a survey."""

    recipient_id: int
    topic: NoticeTopic
    kind: str
    data: dict[str, Any]
    ticket: Ticket | None = None


# Where reactions leave personal notices for the outbox reaction: they go out in the same
# enqueue as the batch's events, so a new owner's brief joins their assignment notice.
PERSONAL_NOTICES: Slot[PersonalNotice] = Slot("personal notices")


@dataclass(slots=True)
class _Delivery:
    ticket: Ticket | None
    recipient_id: int
    channel: DeliveryChannel
    event_ids: list[int] = field(default_factory=list)
    entries: list[dict[str, Any]] = field(default_factory=list)


_Key = tuple[int, int, DeliveryChannel]  # ticket, recipient, channel


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
    await enqueue(session, [], [PersonalNotice(recipient_id, topic, kind, data, ticket)])


async def enqueue(
    session: AsyncSession,
    recorded: Sequence[Recorded],
    personal: Sequence[PersonalNotice] = (),
    *,
    fresh: Collection[int] = (),
) -> None:
    """The deliveries for `recorded` events (in order), then for `personal` notices.

    `fresh` names tickets filed in this very transaction: nobody follows them yet and
    no delivery about them exists, so there is nothing to look up or to join.
    """
    now = datetime.now(UTC)
    situations = await _situations(session, recorded, fresh)
    wanted: list[tuple[Notice, Ticket | None, int | None, dict[str, Any]]] = []
    for item, situation in zip(recorded, situations, strict=True):
        event = item.event
        notices = notices_for(
            event.kind,
            event.data,
            event.visibility is Visibility.PUBLIC,
            item.actor.id if item.actor else None,
            situation,
        )
        wanted += [
            (n, item.ticket, event.id, notice_payload(event, item.actor, n)) for n in notices
        ]
    for notice in personal:
        entry = {
            "event_id": None,
            "kind": notice.kind,
            "part": Part.REQUESTER.value,
            "topic": notice.topic.value,
            "data": notice.data,
            "actor": None,
            "at": now.isoformat(),
        }
        wanted.append(
            (Notice(notice.recipient_id, notice.topic, Part.REQUESTER), notice.ticket, None, entry)
        )
    if wanted:
        await _write_notices(session, wanted, set(fresh), now)
    if recorded:
        await _enqueue_webhooks(session, recorded, now)


async def _situations(
    session: AsyncSession, recorded: Sequence[Recorded], fresh: Collection[int]
) -> list[Situation]:
    """Who is around each ticket after each event: followers, and (unowned) its team."""
    ticket_ids = {r.ticket.id for r in recorded if r.ticket.id not in fresh}
    followers: dict[int, set[int]] = {}
    if ticket_ids:
        rows = await session.execute(
            select(TicketFollower.ticket_id, TicketFollower.user_id).where(
                TicketFollower.ticket_id.in_(ticket_ids)
            )
        )
        for ticket_id, user_id in rows:
            followers.setdefault(ticket_id, set()).add(user_id)
    team_ids = {
        r.ticket.team_id
        for r in recorded
        if r.owner_id is None and r.ticket.team_id is not None and uses_team(r.event.kind)
    }
    teams: dict[int, set[int]] = {}
    if team_ids:
        rows = await session.execute(
            select(TeamMember.team_id, TeamMember.user_id).where(TeamMember.team_id.in_(team_ids))
        )
        for team_id, user_id in rows:
            teams.setdefault(team_id, set()).add(user_id)
    situations = []
    for item in recorded:
        team: set[int] = set()
        if item.owner_id is None and item.ticket.team_id is not None:
            team = teams.get(item.ticket.team_id, set())
        situations.append(
            Situation(
                requester_id=item.ticket.requester_id,
                owner_id=item.owner_id,
                team_member_ids=frozenset(team),
                follower_ids=frozenset(followers.get(item.ticket.id, ())),
            )
        )
    return situations


def notice_payload(event: TicketEvent, actor: User | None, notice: Notice) -> dict[str, Any]:
    # The requester's mail and SMS are worded from the public projection only, so what
    # is stored for them (and could be rendered) holds nothing staff-only.
    audience = Audience.PUBLIC if notice.part is Part.REQUESTER else Audience.STAFF
    return {
        "event_id": event.id,
        "kind": event.kind,
        "part": notice.part.value,
        "topic": notice.topic.value,
        "data": project_data(event.kind, event.visibility.value, event.data, audience) or {},
        "actor": None
        if actor is None
        else {"id": actor.id, "name": actor.name, "role": actor.role.value},
        "at": event.created_at.isoformat() if event.created_at else None,
    }


async def _active_users(session: AsyncSession, ids: set[int]) -> dict[int, User]:
    """The recipients who are active. People this transaction already loaded (the
    requester, the new owner) are taken as loaded; the rest in one query."""
    users: dict[int, User] = {}
    missing = []
    for user_id in ids:
        known = session.identity_map.get(identity_key(User, user_id))
        # Only fully loaded ones: reading an expired attribute would mean hidden IO.
        if isinstance(known, User) and not inspect(known).unloaded:
            users[user_id] = known
        else:
            missing.append(user_id)
    if missing:
        loaded = await session.scalars(select(User).where(User.id.in_(missing)))
        users.update({user.id: user for user in loaded})
    return {user_id: user for user_id, user in users.items() if user.active}


async def _write_notices(
    session: AsyncSession,
    wanted: list[tuple[Notice, Ticket | None, int | None, dict[str, Any]]],
    fresh: set[int],
    now: datetime,
) -> None:
    recipients = await _active_users(session, {n.recipient_id for n, _, _, _ in wanted})
    preferences = await load_preferences(session, recipients)
    grouped: dict[_Key, _Delivery] = {}
    loose: list[_Delivery] = []  # not about a ticket: never coalesced
    for notice, ticket, event_id, entry in wanted:
        user = recipients.get(notice.recipient_id)
        if user is None:
            continue
        texted_in = (
            ticket is not None
            and ticket.channel is Channel.SMS
            and ticket.requester_id == notice.recipient_id
        )
        for channel in channels_for(notice, user, preferences, texted_in=texted_in):
            if ticket is None:
                loose.append(_Delivery(None, user.id, channel, [], [entry]))
                continue
            key = (ticket.id, user.id, channel)
            delivery = grouped.setdefault(key, _Delivery(ticket, user.id, channel))
            if event_id is not None:
                delivery.event_ids.append(event_id)
            delivery.entries.append(entry)
    if not grouped and not loose:
        return
    await session.flush()  # the tickets these rows point at, and changes to join
    known = [key for key in grouped if key[0] not in fresh]
    waiting = await _waiting(session, known)
    joined = [(waiting[key], grouped.pop(key)) for key in known if key in waiting]
    if joined:
        await session.execute(
            _JOIN,
            [
                {"id": row_id, "event_ids": d.event_ids, "entries": d.entries, "now": now}
                for row_id, d in joined
            ],
        )
    last_sent = await _last_sent(session, [key for key in grouped if key[0] not in fresh])
    rows = [
        _new_row(d, now, last_sent.get((d.ticket.id, d.recipient_id, d.channel)))
        for d in grouped.values()
        if d.ticket is not None
    ]
    rows += [_new_row(d, now, None) for d in loose]
    if rows:
        await session.execute(insert(NotificationDelivery), rows)


# Joining an unsent delivery: its events and notices grow, in order.
_JOIN = text(
    """
    UPDATE notification_deliveries
    SET event_ids = event_ids || :event_ids,
        payload = jsonb_set(payload, '{notices}',
                            coalesce(payload -> 'notices', '[]'::jsonb) || :entries),
        updated_at = :now
    WHERE id = :id
    """
).bindparams(
    bindparam("event_ids", type_=ARRAY(BigInteger)),
    bindparam("entries", type_=JSONB),
    bindparam("now", type_=DateTime(timezone=True)),
    bindparam("id", type_=BigInteger),
)


async def _waiting(session: AsyncSession, keys: list[_Key]) -> dict[_Key, int]:
    """The newest unsent, never-tried delivery per key. One a worker is claiming right
    now is skipped (SKIP LOCKED): the news then goes in a new delivery."""
    if not keys:
        return {}
    rows = await session.execute(
        select(
            NotificationDelivery.id,
            NotificationDelivery.ticket_id,
            NotificationDelivery.recipient_id,
            NotificationDelivery.channel,
        )
        .where(
            tuple_(
                NotificationDelivery.ticket_id,
                NotificationDelivery.recipient_id,
                NotificationDelivery.channel,
            ).in_(keys),
            NotificationDelivery.status == DeliveryStatus.PENDING,
            NotificationDelivery.attempts == 0,
        )
        .with_for_update(skip_locked=True)
    )
    newest: dict[_Key, int] = {}
    for row_id, ticket_id, recipient_id, channel in rows:
        if ticket_id is None or recipient_id is None:
            continue  # never: the keys name both
        key = (ticket_id, recipient_id, channel)
        newest[key] = max(row_id, newest.get(key, 0))
    return newest


async def _last_sent(session: AsyncSession, keys: list[_Key]) -> dict[_Key, datetime]:
    if not keys:
        return {}
    rows = await session.execute(
        select(
            NotificationDelivery.ticket_id,
            NotificationDelivery.recipient_id,
            NotificationDelivery.channel,
            func.max(NotificationDelivery.delivered_at),
        )
        .where(
            tuple_(
                NotificationDelivery.ticket_id,
                NotificationDelivery.recipient_id,
                NotificationDelivery.channel,
            ).in_(keys),
            NotificationDelivery.delivered_at.is_not(None),
        )
        .group_by(
            NotificationDelivery.ticket_id,
            NotificationDelivery.recipient_id,
            NotificationDelivery.channel,
        )
    )
    return {
        (t, r, c): sent
        for t, r, c, sent in rows
        if t is not None and r is not None and sent is not None
    }


def _new_row(delivery: _Delivery, now: datetime, last_sent: datetime | None) -> dict[str, Any]:
    ticket = delivery.ticket
    window_end = None if last_sent is None else last_sent + OutboxSettings.coalesce_window
    return {
        "ticket_id": None if ticket is None else ticket.id,
        "recipient_id": delivery.recipient_id,
        "webhook_id": None,
        "channel": delivery.channel,
        "event_ids": delivery.event_ids,
        "payload": {
            "ticket": None if ticket is None else {"id": ticket.id, "subject": ticket.subject},
            "notices": delivery.entries,
        },
        "status": DeliveryStatus.PENDING,
        "attempts": 0,
        "max_attempts": EMAIL_ATTEMPTS,
        "next_attempt_at": window_end if window_end is not None and window_end > now else now,
        "idempotency_key": message_id(None if ticket is None else ticket.id)
        if delivery.channel is DeliveryChannel.EMAIL
        else _key("sms"),
        "created_at": now,
        "updated_at": now,
    }


# Built once: every change to a ticket asks it (see preferences._PREFERENCES).
_ENDPOINTS = (
    select(WebhookEndpoint.id, WebhookEndpoint.event_kinds, WebhookEndpoint.include_internal)
    .where(
        WebhookEndpoint.active.is_(True),
        WebhookEndpoint.event_kinds.overlap(bindparam("kinds", type_=ARRAY(String(64)))),
    )
    .order_by(WebhookEndpoint.id)
)


async def _enqueue_webhooks(
    session: AsyncSession, recorded: Sequence[Recorded], now: datetime
) -> None:
    kinds = sorted({r.event.kind for r in recorded})
    endpoints = (await session.execute(_ENDPOINTS, {"kinds": [*kinds, "*"]})).all()
    rows = []
    for item in recorded:
        ticket, event = item.ticket, item.event
        for endpoint_id, endpoint_kinds, include_internal in endpoints:
            if event.kind not in endpoint_kinds and "*" not in endpoint_kinds:
                continue
            payload = webhook_payload(item, include_internal=include_internal)
            if payload is None:
                continue
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
                    "max_attempts": WEBHOOK_ATTEMPTS,
                    "next_attempt_at": now,
                    "idempotency_key": _key("msg"),
                    "created_at": now,
                    "updated_at": now,
                }
            )
    if rows:
        await session.flush()
        await session.execute(insert(NotificationDelivery), rows)


def webhook_payload(item: Recorded, *, include_internal: bool) -> dict[str, Any] | None:
    """What a webhook is sent about one event, or None when it may not see the event.

    Internal words leave the desk only for an integration trusted with them; any other
    gets the customer's view of the event (app/events/audience.py), never more."""
    ticket, event, actor = item.ticket, item.event, item.actor
    audience = Audience.STAFF if include_internal else Audience.PUBLIC
    data = project_data(event.kind, event.visibility.value, event.data, audience)
    if data is None:
        return None
    return {
        "ticket": {"id": ticket.id, "subject": ticket.subject, "status": item.status.value},
        "event": {
            "id": event.id,
            "ticket_id": ticket.id,
            "kind": event.kind,
            "visibility": event.visibility.value,
            "actor": None
            if actor is None
            else {"id": actor.id, "name": actor.name, "role": actor.role.value},
            "data": data,
            "ticket_version": event.ticket_version if include_internal else None,
            "created_at": event.created_at.isoformat() if event.created_at else None,
        },
    }


def _key(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"
