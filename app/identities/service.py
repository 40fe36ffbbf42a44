"""Identities: who a customer is on each channel, and finding (or making) the customer
behind one. Flushes, never commits.

`find_or_create_customer` is what every intake calls with the identity its channel
vouches for (the sender of a mail, the number of a text, the handle of a post). Other
details a message merely claims (an email address typed into a chat) are never used to
match an existing customer: anyone can type anyone's address, and matching on it would
put their messages on that customer's tickets and our replies in their hands. An admin
(or an intake that has verified one) adds such identities with `add_identity`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict, NotFound
from app.identities.normalise import IdentityRef
from app.models import NO_EMAIL_DOMAIN, Identity, IdentityKind, Role, User


@dataclass(frozen=True, slots=True)
class FoundCustomer:
    user: User
    created: bool  # made just now, for this identity


async def find_person(session: AsyncSession, identity: IdentityRef) -> User | None:
    """Whoever holds this identity, of any role, active or not (the caller decides what a
    staff member's or a deactivated person's message means). Identities of a merged
    customer have moved to the survivor, so they find the survivor."""
    return await session.scalar(
        select(User)
        .join(Identity, Identity.user_id == User.id)
        .where(
            Identity.kind == identity.kind,
            Identity.source == identity.source,
            Identity.value == identity.value,
        )
    )


async def find_or_create_customer(
    session: AsyncSession, identity: IdentityRef, *, name: str | None = None
) -> FoundCustomer:
    """The person with this identity, or a new customer holding it.

    Safe against a concurrent intake of the same new sender: both end with the one
    customer (the loser of the race reads the winner's)."""
    found = await find_person(session, identity)
    if found is not None:
        return FoundCustomer(found, created=False)
    try:
        async with session.begin_nested():
            user = await _new_customer(session, identity, name)
    except IntegrityError:
        found = await find_person(session, identity)
        if found is None:
            raise
        return FoundCustomer(found, created=False)
    return FoundCustomer(user, created=True)


async def _new_customer(session: AsyncSession, identity: IdentityRef, name: str | None) -> User:
    if identity.kind is IdentityKind.EMAIL:
        email = identity.value  # the users trigger makes it their identity
    else:
        email = f"{identity.kind.value}-{uuid.uuid4().hex}@{NO_EMAIL_DOMAIN}"
    user: User | None = await session.scalar(
        insert(User)
        .values(email=email, name=(name or _default_name(identity))[:200], role=Role.CUSTOMER)
        .returning(User)
    )
    assert user is not None
    if identity.kind is not IdentityKind.EMAIL:
        await session.execute(
            insert(Identity).values(
                user_id=user.id, kind=identity.kind, source=identity.source, value=identity.value
            )
        )
    return user


def _default_name(identity: IdentityRef) -> str:
    match identity.kind:
        case IdentityKind.EMAIL:
            return identity.value.split("@", 1)[0]
        case IdentityKind.HANDLE:
            return f"@{identity.value} ({identity.source})"
        case _:
            return identity.value


# Admin use cases --------------------------------------------------------------------


async def list_identities(session: AsyncSession, user_id: int) -> Sequence[Identity]:
    await _require_user(session, user_id)
    query = select(Identity).where(Identity.user_id == user_id).order_by(Identity.id)
    return (await session.scalars(query)).all()


async def add_identity(session: AsyncSession, user_id: int, identity: IdentityRef) -> Identity:
    await _require_user(session, user_id)
    holder = await find_person(session, identity)
    if holder is not None:
        raise _taken(identity, holder.id, user_id)
    try:
        async with session.begin_nested():
            added: Identity | None = await session.scalar(
                insert(Identity)
                .values(
                    user_id=user_id,
                    kind=identity.kind,
                    source=identity.source,
                    value=identity.value,
                )
                .returning(Identity)
            )
    except IntegrityError:
        holder = await find_person(session, identity)
        raise _taken(identity, holder.id if holder else None, user_id) from None
    assert added is not None
    return added


async def remove_identity(session: AsyncSession, user_id: int, identity_id: int) -> None:
    user = await _require_user(session, user_id)
    identity = await session.scalar(
        select(Identity).where(Identity.id == identity_id, Identity.user_id == user_id)
    )
    if identity is None:
        raise NotFound(f"User {user_id} has no identity {identity_id}.")
    if identity.kind is IdentityKind.EMAIL and identity.value == user.email.lower():
        raise Conflict(
            f"{identity.value} is the user's own address; give them another address first."
        )
    await session.delete(identity)
    await session.flush()


async def _require_user(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(f"User {user_id} does not exist.")
    return user


def _taken(identity: IdentityRef, holder_id: int | None, user_id: int) -> Conflict:
    where = "" if identity.source == "" else f" on {identity.source}"
    if holder_id == user_id:
        detail = f"{identity.value}{where} is already an identity of user {user_id}."
    else:
        detail = f"{identity.value}{where} is an identity of another user ({holder_id})."
    return Conflict(detail, extra={"user_id": holder_id})
