"""Attachment rows: which stored file belongs to which message (or ticket), under what
name and type. The bytes are in the store; these rows are what the API lists."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.attachments.schemas import AttachmentOut
from app.attachments.store import StoredFile
from app.models import Attachment, InboundMessage

MAX_FILENAME = 255


@dataclass(frozen=True, slots=True)
class NewAttachment:
    """A file already in the store, about to be attached."""

    stored: StoredFile
    filename: str | None
    inline: bool = False


async def attach(
    session: AsyncSession, ticket_id: int, message_id: int | None, files: Sequence[NewAttachment]
) -> list[Attachment]:
    """Rows for `files` on a message (or, `message_id` None, on the ticket itself)."""
    if not files:
        return []
    rows = [
        {
            "ticket_id": ticket_id,
            "message_id": message_id,
            "sha256": f.stored.sha256,
            "filename": None if f.filename is None else f.filename[:MAX_FILENAME],
            "content_type": f.stored.content_type[:255],
            "size": f.stored.size,
            "inline": f.inline,
        }
        for f in files
    ]
    result = await session.scalars(
        insert(Attachment).returning(Attachment, sort_by_parameter_order=True), rows
    )
    return list(result)


async def of_messages(
    session: AsyncSession, message_ids: Collection[int]
) -> dict[int, list[Attachment]]:
    """The attachments of each message, in the order they came."""
    if not message_ids:
        return {}
    rows = await session.scalars(
        select(Attachment)
        .where(Attachment.message_id.in_(list(message_ids)))
        .order_by(Attachment.id)
    )
    found: dict[int, list[Attachment]] = {}
    for row in rows:
        assert row.message_id is not None
        found.setdefault(row.message_id, []).append(row)
    return found


async def still_referenced(session: AsyncSession, sha256: str) -> bool:
    """Whether any attachment or kept raw message still uses the stored file `sha256`."""
    attached = await session.scalar(
        select(func.count()).select_from(Attachment).where(Attachment.sha256 == sha256)
    )
    kept = await session.scalar(
        select(func.count()).select_from(InboundMessage).where(InboundMessage.raw_sha256 == sha256)
    )
    return bool(attached) or bool(kept)


def present(attachment: Attachment) -> AttachmentOut:
    return AttachmentOut(
        id=attachment.id,
        filename=attachment.filename,
        content_type=attachment.content_type,
        size=attachment.size,
        sha256=attachment.sha256,
        inline=attachment.inline,
    )


def described(attachments: Sequence[Attachment]) -> list[dict[str, object]]:
    """What a timeline event says of a message's files (metadata, never content)."""
    return [present(a).model_dump(mode="json") for a in attachments]
