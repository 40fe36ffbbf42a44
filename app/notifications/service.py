"""Notification use cases: what was sent for a ticket, retrying, preferences, followers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict, Forbidden, NotFound, UnprocessableEntity
from app.events.visibility import get_visible_ticket
from app.models import (
    STAFF_ROLES,
    DeliveryChannel,
    DeliveryStatus,
    NotificationDelivery,
    NotificationPreference,
    Role,
    TicketFollower,
    User,
    WebhookEndpoint,
)
from app.notifications.retry import attempts_per_round
from app.notifications.rules import ESSENTIAL_TOPICS, NoticeTopic
from app.notifications.worker import wake_workers


async def deliveries_of_ticket(
    session: AsyncSession, viewer: User, ticket_id: int, *, after_id: int | None, limit: int
) -> Sequence[NotificationDelivery]:
    await get_visible_ticket(session, viewer, ticket_id)
    query = (
        select(NotificationDelivery)
        .where(NotificationDelivery.ticket_id == ticket_id)
        .order_by(NotificationDelivery.id)
        .limit(limit)
    )
    if viewer.role is not Role.ADMIN:
        # Webhooks (their endpoints, answers and errors) are admin business: agents and
        # supervisors see the ticket's email and SMS deliveries only.
        query = query.where(NotificationDelivery.channel != DeliveryChannel.WEBHOOK)
    if after_id is not None:
        query = query.where(NotificationDelivery.id > after_id)
    return (await session.scalars(query)).all()


async def retry_delivery(
    session: AsyncSession, actor: User, delivery_id: int
) -> NotificationDelivery:
    """Give a dead delivery a fresh round of attempts (its backoff starts again from the
    shortest delay), due now, and wake the workers so it goes at once.

    A webhook delivery is an admin's to send again (as by redelivery): to anyone else it
    does not exist, the same answer as for an id nobody has."""
    delivery = await session.get(NotificationDelivery, delivery_id, with_for_update=True)
    webhook = delivery is not None and delivery.channel is DeliveryChannel.WEBHOOK
    if delivery is None or (webhook and actor.role is not Role.ADMIN):
        raise NotFound(f"Delivery {delivery_id} does not exist.")
    if delivery.status is not DeliveryStatus.DEAD:
        raise Conflict(
            f"Delivery {delivery_id} is {delivery.status.value}; only dead ones are retried."
        )
    if delivery.webhook_id is not None:
        endpoint = await session.get(WebhookEndpoint, delivery.webhook_id)
        if endpoint is None or not endpoint.active:
            raise Conflict("Its webhook endpoint is disabled; enable it first.")
    return await send_again(session, delivery)


async def send_again(session: AsyncSession, delivery: NotificationDelivery) -> NotificationDelivery:
    """Due now, with a fresh round of attempts (its backoff starts again from the shortest
    delay), and the workers woken at commit so it goes at once."""
    now = datetime.now(UTC)
    delivery.status = DeliveryStatus.PENDING
    delivery.max_attempts = delivery.attempts + attempts_per_round(delivery.channel)
    delivery.next_attempt_at = now
    delivery.updated_at = now
    await session.flush()
    await wake_workers(session)
    return delivery


def _may_manage(actor: User, user_id: int) -> None:
    if actor.id != user_id and actor.role is not Role.ADMIN:
        raise Forbidden("Only an admin may change someone else's notification preferences.")


async def get_preferences(
    session: AsyncSession, actor: User, user_id: int
) -> dict[NoticeTopic, list[DeliveryChannel]]:
    _may_manage(actor, user_id)
    if await session.get(User, user_id) is None:
        raise NotFound(f"User {user_id} does not exist.")
    rows = await session.execute(
        select(NotificationPreference.topic, NotificationPreference.channels).where(
            NotificationPreference.user_id == user_id
        )
    )
    return {NoticeTopic(topic): [DeliveryChannel(c) for c in channels] for topic, channels in rows}


async def set_preferences(
    session: AsyncSession,
    actor: User,
    user_id: int,
    preferences: dict[NoticeTopic, list[DeliveryChannel]],
) -> dict[NoticeTopic, list[DeliveryChannel]]:
    """Replace the given topics' channels (topics not given keep theirs)."""
    _may_manage(actor, user_id)
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(f"User {user_id} does not exist.")
    for topic, channels in preferences.items():
        if DeliveryChannel.WEBHOOK in channels:
            raise UnprocessableEntity("People are notified by email or sms; webhooks are separate.")
        if not channels and topic in ESSENTIAL_TOPICS and user.role is Role.CUSTOMER:
            raise UnprocessableEntity(
                f"{topic.value} is essential news about your request: keep email or sms."
            )
        if DeliveryChannel.SMS in channels and not user.phone:
            raise UnprocessableEntity("Add a phone number before choosing sms.")
    now = datetime.now(UTC)
    for topic, channels in preferences.items():
        unique = list(dict.fromkeys(c.value for c in channels))
        await session.execute(
            pg_insert(NotificationPreference)
            .values(user_id=user_id, topic=topic.value, channels=unique, updated_at=now)
            .on_conflict_do_update(
                index_elements=[NotificationPreference.user_id, NotificationPreference.topic],
                set_={"channels": unique, "updated_at": now},
            )
        )
    return await get_preferences(session, actor, user_id)


async def followers_of(session: AsyncSession, viewer: User, ticket_id: int) -> list[User]:
    await get_visible_ticket(session, viewer, ticket_id)
    return list(
        await session.scalars(
            select(User)
            .join(TicketFollower, TicketFollower.user_id == User.id)
            .where(TicketFollower.ticket_id == ticket_id)
            .order_by(User.id)
        )
    )


async def follow(session: AsyncSession, viewer: User, ticket_id: int, user_id: int) -> None:
    await get_visible_ticket(session, viewer, ticket_id)
    follower = await session.get(User, user_id)
    if follower is None or follower.role not in STAFF_ROLES or not follower.active:
        raise UnprocessableEntity(f"User {user_id} is not an active member of staff.")
    await session.execute(
        pg_insert(TicketFollower)
        .values(ticket_id=ticket_id, user_id=user_id)
        .on_conflict_do_nothing()
    )


async def unfollow(session: AsyncSession, viewer: User, ticket_id: int, user_id: int) -> None:
    await get_visible_ticket(session, viewer, ticket_id)
    await session.execute(
        delete(TicketFollower).where(
            TicketFollower.ticket_id == ticket_id, TicketFollower.user_id == user_id
        )
    )
