"""Mailbox use cases: add, read, change, remove. The secret is sealed on the way in."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict, NotFound, UnprocessableEntity
from app.inbound.mailboxes import secrets
from app.inbound.mailboxes.schemas import MailboxCreate, MailboxOut, MailboxUpdate
from app.models import Mailbox, MailboxAuth, Team

_NOT_NULLABLE = frozenset(
    {"name", "host", "port", "security", "username", "auth", "folder", "active"}
)


async def create(session: AsyncSession, secret_key: str, data: MailboxCreate) -> Mailbox:
    await _require_team(session, data.team_id)
    secret = data.password if data.auth is MailboxAuth.PASSWORD else data.access_token
    assert secret is not None
    mailbox = Mailbox(
        name=data.name,
        host=data.host,
        port=data.port,
        security=data.security,
        username=data.username,
        auth=data.auth,
        secret_sealed=secrets.seal(secret_key, data.name, secret),
        folder=data.folder,
        move_to=data.move_to,
        team_id=data.team_id,
        active=data.active,
    )
    session.add(mailbox)
    await _flush(session, data.name)
    await session.refresh(mailbox)
    return mailbox


async def get(session: AsyncSession, mailbox_id: int, *, for_update: bool = False) -> Mailbox:
    mailbox = await session.get(Mailbox, mailbox_id, with_for_update=for_update)
    if mailbox is None:
        raise NotFound(f"Mailbox {mailbox_id} does not exist.")
    return mailbox


async def list_all(session: AsyncSession, *, after_id: int | None, limit: int) -> Sequence[Mailbox]:
    query = select(Mailbox).order_by(Mailbox.id).limit(limit)
    if after_id is not None:
        query = query.where(Mailbox.id > after_id)
    return (await session.scalars(query)).all()


async def update(
    session: AsyncSession, secret_key: str, mailbox_id: int, data: MailboxUpdate
) -> Mailbox:
    changes = data.model_dump(exclude_unset=True)
    nulled = sorted(k for k, v in changes.items() if v is None and k in _NOT_NULLABLE)
    if nulled:
        raise UnprocessableEntity(f"These fields cannot be null: {', '.join(nulled)}.")
    mailbox = await get(session, mailbox_id, for_update=True)
    if "team_id" in changes:
        await _require_team(session, changes["team_id"])
    old_secret = secrets.unseal(secret_key, mailbox.name, mailbox.secret_sealed)
    password, token = changes.pop("password", None), changes.pop("access_token", None)
    auth = changes.get("auth", mailbox.auth)
    if auth != mailbox.auth and (password if auth is MailboxAuth.PASSWORD else token) is None:
        needed = "password" if auth is MailboxAuth.PASSWORD else "access_token"
        raise UnprocessableEntity(f"Changing auth to {auth.value} needs {needed}.")
    for field, value in changes.items():
        setattr(mailbox, field, value)
    new_secret = (password if auth is MailboxAuth.PASSWORD else token) or old_secret
    mailbox.secret_sealed = secrets.seal(secret_key, mailbox.name, new_secret)
    # A changed mailbox is restarted with its new settings by whoever polls it.
    mailbox.updated_at = datetime.now(UTC)
    await _flush(session, mailbox.name)
    await session.refresh(mailbox)
    return mailbox


async def delete(session: AsyncSession, mailbox_id: int) -> None:
    mailbox = await get(session, mailbox_id, for_update=True)
    await session.delete(mailbox)
    await session.flush()


def present(mailbox: Mailbox) -> MailboxOut:
    return MailboxOut(
        id=mailbox.id,
        name=mailbox.name,
        host=mailbox.host,
        port=mailbox.port,
        security=mailbox.security,
        username=mailbox.username,
        auth=mailbox.auth,
        folder=mailbox.folder,
        move_to=mailbox.move_to,
        team_id=mailbox.team_id,
        active=mailbox.active,
        last_polled_at=mailbox.last_polled_at,
        last_error=mailbox.last_error,
        last_error_at=mailbox.last_error_at,
        created_at=mailbox.created_at,
        updated_at=mailbox.updated_at,
    )


async def _require_team(session: AsyncSession, team_id: int | None) -> None:
    if team_id is not None and await session.get(Team, team_id) is None:
        raise UnprocessableEntity(f"Team {team_id} does not exist.")


async def _flush(session: AsyncSession, name: str) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"A mailbox named {name!r} already exists.") from exc
