"""Sign-in by emailed link.

Asking (`request_link`) does the same work for every address, known or not: count the
request against the limits and queue it. Whether a link is mailed is decided later, in
the background (`mail_pending_links`), so neither the answer nor its timing tells
anyone whether an address belongs to a customer. Staff and integration addresses get
the same answer and no mail: they sign in with tokens their admin gives them.

Redeeming (`redeem`) exchanges a link, once and before it expires, for an API token of
that customer with an expiry. Tokens an admin issued keep working beside it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.tokens import hash_token, mint_token
from app.errors import ProblemError
from app.identities.normalise import IdentityRef
from app.identities.service import find_person
from app.models import (
    ApiToken,
    DeliveryChannel,
    DeliveryStatus,
    NotificationDelivery,
    Role,
    SignInLink,
    SignInRequest,
    User,
)
from app.notifications.outbox import EMAIL_ATTEMPTS, message_id
from app.signin import throttle
from app.signin.config import SignInConfig
from app.signin.notices import SIGN_IN_LINK
from app.signin.tokens import link_token, new_nonce, plausible, token_hash

BATCH = 100
KEEP_LINKS = timedelta(days=1)
TOKEN_NAME = "Sign-in link"  # noqa: S105 - the name the token is listed under


class InvalidLink(ProblemError):
    status, type_slug, title = 400, "sign-in-link-invalid", "Sign-in link not valid"

    def __init__(self) -> None:
        # One answer for unknown, expired and used links: the holder of a real link
        # learns nothing they need, and a guesser learns nothing at all.
        super().__init__(
            "This sign-in link is not valid: it may have expired or been used already. "
            "Ask for a new one."
        )


async def request_link(session: AsyncSession, email: str, client: str, now: datetime) -> None:
    """Count and queue a request for a link to `email` (already normalised)."""
    await throttle.count(
        session,
        {
            f"address:{email}": SignInConfig.per_address_per_hour,
            f"client:{client}": SignInConfig.per_client_per_hour,
        },
        now,
    )
    await session.execute(insert(SignInRequest).values(email=email, created_at=now))


async def redeem(
    session: AsyncSession, token: str, client: str, now: datetime
) -> tuple[ApiToken, str]:
    """The link's customer gets a new API token, returned with its secret (shown once,
    never stored); the link is used up."""
    await throttle.count(session, {f"redeem:{client}": SignInConfig.per_client_per_hour}, now)
    if not plausible(token):
        raise InvalidLink()
    # Used up in the same statement that finds it: of two concurrent redemptions only
    # one gets the row back.
    link = await session.scalar(
        update(SignInLink)
        .where(
            SignInLink.token_hash == token_hash(token),
            SignInLink.used_at.is_(None),
            SignInLink.expires_at > now,
        )
        .values(used_at=now)
        .returning(SignInLink)
    )
    customer = None if link is None else await session.get(User, link.user_id)
    if link is None or customer is None or not _may_sign_in(customer):
        raise InvalidLink()
    secret = mint_token()
    api_token = ApiToken(
        user_id=customer.id,
        name=TOKEN_NAME,
        token_hash=hash_token(secret),
        expires_at=now + SignInConfig.token_ttl,
    )
    session.add(api_token)
    await session.flush()
    link.api_token_id = api_token.id
    return api_token, secret


def _may_sign_in(user: User) -> bool:
    return user.active and user.role is Role.CUSTOMER


async def mail_pending_links(session: AsyncSession, now: datetime) -> int:
    """Take up to BATCH queued requests (skipping those another process is taking) and
    mail a link for each that names an active customer. Returns how many were taken."""
    queued = select(SignInRequest.id).order_by(SignInRequest.id).limit(BATCH)
    taken = (
        await session.execute(
            delete(SignInRequest)
            .where(SignInRequest.id.in_(queued.with_for_update(skip_locked=True).scalar_subquery()))
            .returning(SignInRequest.email, SignInRequest.created_at)
        )
    ).all()
    for email, asked_at in taken:
        if asked_at + SignInConfig.link_ttl <= now:
            continue  # asked so long ago that the link would arrive dead
        customer = await find_person(session, IdentityRef.email(email))
        if customer is None or not _may_sign_in(customer):
            continue
        await _mail_link(session, customer, now)
    await throttle.forget_old_windows(session, now)
    # Links are kept a day past their expiry (what was asked and used when), then go.
    await session.execute(delete(SignInLink).where(SignInLink.expires_at < now - KEEP_LINKS))
    return len(taken)


async def _mail_link(session: AsyncSession, customer: User, now: datetime) -> None:
    nonce = new_nonce()
    expires_at = now + SignInConfig.link_ttl
    session.add(
        SignInLink(
            user_id=customer.id,
            token_hash=token_hash(link_token(SignInConfig.secret, nonce)),
            expires_at=expires_at,
            created_at=now,
        )
    )
    # Straight into the outbox as an email, whatever the customer's channel preferences:
    # the link proves they hold the address, so it goes to the address.
    entry = {
        "event_id": None,
        "kind": SIGN_IN_LINK,
        "part": "requester",
        "topic": "account",
        "data": {"nonce": nonce, "expires_at": expires_at.isoformat()},
        "actor": None,
        "at": now.isoformat(),
    }
    session.add(
        NotificationDelivery(
            ticket_id=None,
            recipient_id=customer.id,
            webhook_id=None,
            channel=DeliveryChannel.EMAIL,
            event_ids=[],
            payload={"ticket": None, "notices": [entry]},
            status=DeliveryStatus.PENDING,
            attempts=0,
            max_attempts=EMAIL_ATTEMPTS,
            next_attempt_at=now,
            idempotency_key=message_id(None),
            created_at=now,
            updated_at=now,
        )
    )
    await session.flush()
