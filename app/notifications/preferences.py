"""Channel choice per person and topic, with the defaults for those who never chose."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import BigInteger, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import DeliveryChannel, NotificationPreference, User
from app.notifications.rules import Notice

DEFAULT_CHANNELS: tuple[DeliveryChannel, ...] = (DeliveryChannel.EMAIL,)


# Built once, with the ids as one array parameter: an IN list would be a different
# statement for every number of recipients, and building and hashing the select on
# every write showed up in profiles of ticket creation.
_PREFERENCES = select(
    NotificationPreference.user_id,
    NotificationPreference.topic,
    NotificationPreference.channels,
).where(NotificationPreference.user_id == func.any(bindparam("ids", type_=ARRAY(BigInteger))))


async def load_preferences(
    session: AsyncSession, user_ids: Iterable[int]
) -> dict[tuple[int, str], list[str]]:
    rows = await session.execute(_PREFERENCES, {"ids": list(user_ids)})
    return {(user_id, topic): channels for user_id, topic, channels in rows}


def channels_for(
    notice: Notice, user: User, preferences: dict[tuple[int, str], list[str]]
) -> list[DeliveryChannel]:
    chosen = preferences.get((user.id, notice.topic.value))
    channels = list(DEFAULT_CHANNELS) if chosen is None else [DeliveryChannel(c) for c in chosen]
    if DeliveryChannel.SMS in channels and not user.phone:
        channels.remove(DeliveryChannel.SMS)
        if not channels and notice.essential:
            channels = [DeliveryChannel.EMAIL]  # nobody misses essential news for a missing phone
    if DeliveryChannel.EMAIL in channels and user.email_undeliverable_at is not None:
        # Mail to them bounced for good: another message would only bounce again.
        channels.remove(DeliveryChannel.EMAIL)
        if not channels and notice.essential and user.phone:
            channels = [DeliveryChannel.SMS]
    return channels
