"""The trigger that keeps the customer's version watches exactly the columns
app/events/audience.py says a customer sees (the migration keeps its own frozen copy)."""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.events.audience import CUSTOMER_VISIBLE_COLUMNS


async def test_the_customer_version_trigger_watches_the_customer_visible_columns(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        definition = await session.scalar(
            text(
                "SELECT pg_get_triggerdef(oid) FROM pg_trigger "
                "WHERE tgname = 'tickets_customer_version'"
            )
        )
    assert definition is not None
    watched = set(re.findall(r"\bold\.(\w+)", definition, re.IGNORECASE))
    assert watched == {*CUSTOMER_VISIBLE_COLUMNS, "last_public_event_id"}
