"""Who sent a message: a user, by one of their identities.

An email sender is known by the address on their user; a phone number or a handle
(with its source) by the identities app/identities keeps, and a stranger on those
channels becomes a customer holding that identity.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.identities.normalise import IdentityRef
from app.identities.service import find_or_create_customer, find_person
from app.inbound.intake import Refused, SenderIdentity
from app.models import IdentityKind, User
from app.tickets.filing import customer_by_email
from app.tickets.schemas import RequesterIn

EMAIL = "email"
_ADDRESS = re.compile(r"^[^@\s<>()\[\],;:\"\\]{1,64}@[^@\s<>()\[\],;:\"\\]{1,255}$")


async def find_sender(session: AsyncSession, identity: SenderIdentity) -> User | None:
    """The user this identity belongs to, or None for someone the desk does not know."""
    if identity.kind == EMAIL:
        return await session.scalar(select(User).where(User.email == identity.value.lower()))
    return await find_person(session, _ref(identity))


async def find_people(session: AsyncSession, identities: list[SenderIdentity]) -> list[User]:
    """The known users among `identities` (people copied on a message)."""
    emails = sorted({i.value.lower() for i in identities if i.kind == EMAIL})
    if not emails:
        return []
    return list(await session.scalars(select(User).where(User.email.in_(emails))))


async def customer_for(session: AsyncSession, identity: SenderIdentity) -> User:
    """The sender as a user, made a customer when the desk does not know them yet."""
    if identity.kind != EMAIL:
        found = await find_or_create_customer(session, _ref(identity), name=_name(identity))
        return found.user
    address = identity.value.strip().lower()
    if not _ADDRESS.match(address):
        raise Refused("bad_sender", f"the sender address {address[:200]!r} is not usable")
    # Not EmailStr's validation: mail arrives from addresses a web form would refuse
    # (root@localhost, a domain without a dot), and they are still someone to answer.
    given = RequesterIn.model_construct(email=address, name=_name(identity), phone=None)
    return await customer_by_email(session, given)


def _name(identity: SenderIdentity) -> str | None:
    name = " ".join(identity.name.split())[:200]
    return name or None


def _ref(identity: SenderIdentity) -> IdentityRef:
    """The identity as the channel normalised it (its adapter did, before intake)."""
    try:
        kind = IdentityKind(identity.kind)
    except ValueError:
        raise Refused("unknown_identity", f"no way to know a sender by {identity.kind}") from None
    return IdentityRef(kind, identity.value, identity.source)
