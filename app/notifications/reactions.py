"""The notification rules as the last reaction: every event of a settled batch, with the
personal notices other reactions left, becomes outbox rows in one pass."""

from __future__ import annotations

from collections.abc import Sequence

from app.events.reactions import Batch
from app.events.records import Recorded
from app.notifications.outbox import PERSONAL_NOTICES, enqueue


async def write_outbox(batch: Batch, recorded: Sequence[Recorded]) -> None:
    await enqueue(batch.session, recorded, batch.collected(PERSONAL_NOTICES), fresh=batch.fresh)
