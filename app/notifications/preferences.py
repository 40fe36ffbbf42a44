"""Channel choice per person and topic, with the defaults for those who never chose."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import BigInteger, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import NO_EMAIL_DOMAIN, DeliveryChannel, NotificationPreference, User
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
    notice: Notice,
    user: User,
    preferences: dict[tuple[int, str], list[str]],
    *,
    texted_in: bool = False,
) -> list[DeliveryChannel]:
    """The channels `notice` goes to `user` by. `texted_in`: it is about a ticket the user
    opened by text message, whose answers go back the way the question came."""
    chosen = preferences.get((user.id, notice.topic.value))
    channels = list(DEFAULT_CHANNELS) if chosen is None else [DeliveryChannel(c) for c in chosen]
    textable = sms_allowed(user)
    if texted_in and textable:
        return [DeliveryChannel.SMS]
    if DeliveryChannel.EMAIL in channels and _no_address(user):
        # Known only by a number or a handle: mail has nowhere to go; a text may.
        channels.remove(DeliveryChannel.EMAIL)
        if not channels and textable:
            channels = [DeliveryChannel.SMS]
    if DeliveryChannel.SMS in channels and not textable:
        channels.remove(DeliveryChannel.SMS)
        if not channels and notice.essential and not _no_address(user):
            channels = [DeliveryChannel.EMAIL]  # nobody misses essential news for a missing phone
    if DeliveryChannel.EMAIL in channels and user.email_undeliverable_at is not None:
        # Mail to them bounced for good: another message would only bounce again.
        channels.remove(DeliveryChannel.EMAIL)
        if not channels and notice.essential and textable:
            channels = [DeliveryChannel.SMS]
    return channels


def sms_allowed(user: User) -> bool:
    """They have a number and have not texted STOP to the desk (or texted START since)."""
    return bool(user.phone) and user.sms_opted_out_at is None


def _no_address(user: User) -> bool:
    return user.email.endswith("@" + NO_EMAIL_DOMAIN)
