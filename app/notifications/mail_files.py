"""The files a notification email carries: the attachments of the messages it tells
about, attached up to a total size and linked (a signed link) beyond it.

A notice only tells a person about a message they may read (internal notes reach
staff only: app/notifications/rules.py), so the files of the messages a delivery names
are the files its recipient may have. They are read from the store when the mail is
sent, one delivery at a time, never for a whole batch at once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.attachments import links
from app.attachments.store import AttachmentNotFound, AttachmentStore
from app.models import Attachment, DeliveryChannel, NotificationDelivery
from app.notifications.channels.base import Outgoing, OutgoingFile


@dataclass(frozen=True, slots=True)
class MailFiles:
    store: AttachmentStore
    attach_up_to: int  # bytes in all; larger files go as links
    secret: str
    public_base_url: str

    async def of_batch(
        self, session: AsyncSession, claimed: Sequence[NotificationDelivery]
    ) -> dict[int, list[OutgoingFile]]:
        """The files of each email delivery (by delivery id), in message order."""
        wanted = {d.id: _message_ids(d) for d in claimed if d.channel is DeliveryChannel.EMAIL}
        message_ids = {m for ids in wanted.values() for m in ids}
        if not message_ids:
            return {}
        rows = await session.scalars(
            select(Attachment)
            .where(Attachment.message_id.in_(message_ids), Attachment.inline.is_(False))
            .order_by(Attachment.id)
        )
        by_message: dict[int, list[Attachment]] = {}
        for row in rows:
            assert row.message_id is not None
            by_message.setdefault(row.message_id, []).append(row)
        found: dict[int, list[OutgoingFile]] = {}
        for delivery_id, ids in wanted.items():
            files = [self._file(a) for m in ids for a in by_message.get(m, [])]
            if files:
                found[delivery_id] = self._within_budget(files)
        return found

    def _file(self, attachment: Attachment) -> OutgoingFile:
        link = self.public_base_url.rstrip("/") + links.signed_path(self.secret, attachment.id)
        return OutgoingFile(
            attachment.filename or f"attachment-{attachment.id}",
            attachment.content_type,
            attachment.sha256,
            attachment.size,
            link,
        )

    def _within_budget(self, files: list[OutgoingFile]) -> list[OutgoingFile]:
        """Attached while the total stays within the budget; the rest as links only."""
        left = self.attach_up_to
        chosen = []
        for file in files:
            attach = file.size <= left
            if attach:
                left -= file.size
            chosen.append(dataclasses.replace(file, attach=attach))
        return chosen

    async def loaded(self, outgoing: Outgoing) -> Outgoing:
        """The outgoing mail with the bytes of the files it attaches; a file gone from
        the store is sent as its link instead."""
        if not outgoing.files:
            return outgoing
        files = []
        for file in outgoing.files:
            if not file.attach:
                files.append(file)
                continue
            try:
                content = bytearray()
                async for chunk in self.store.read(file.sha256):
                    content += chunk
            except AttachmentNotFound:
                files.append(dataclasses.replace(file, attach=False))
                continue
            files.append(dataclasses.replace(file, content=bytes(content)))
        return dataclasses.replace(outgoing, files=files)


def _message_ids(delivery: NotificationDelivery) -> list[int]:
    return [
        int(n["data"]["message_id"])
        for n in delivery.payload.get("notices", [])
        if n.get("kind") == "message.created" and "message_id" in (n.get("data") or {})
    ]


def message_ids_of(deliveries: Collection[NotificationDelivery]) -> set[int]:
    return {m for d in deliveries for m in _message_ids(d)}
