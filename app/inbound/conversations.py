"""Conversations of connectors (`channel_threads`): finding the ticket a thread is on,
and following it when its messages land somewhere else.

Messages of one thread take turns (a transaction lock on the thread's key), so the
first posts of a new thread, arriving at once, still make one ticket.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import ChannelThread


async def lock_thread(session: AsyncSession, connector: str, source: str, thread_ref: str) -> None:
    key = hashlib.sha256(f"thread\n{connector}\n{source}\n{thread_ref}".encode()).digest()
    await session.execute(
        select(func.pg_advisory_xact_lock(int.from_bytes(key[:8], "big", signed=True)))
    )


async def find_thread(
    session: AsyncSession, connector: str, source: str, thread_ref: str
) -> ChannelThread | None:
    thread: ChannelThread | None = await session.scalar(
        select(ChannelThread).where(
            ChannelThread.connector == connector,
            ChannelThread.source == source,
            ChannelThread.thread_ref == thread_ref,
        )
    )
    return thread


async def follow_thread(
    session: AsyncSession,
    *,
    connector: str,
    integration_id: int | None,
    source: str,
    thread_ref: str,
    ticket_id: int,
    customer_id: int,
    handle: str,
    at: datetime,
) -> None:
    """The thread is on `ticket_id` from now on (made on its first message)."""
    values = {
        "connector": connector,
        "integration_id": integration_id,
        "source": source,
        "thread_ref": thread_ref,
        "ticket_id": ticket_id,
        "customer_id": customer_id,
        "handle": handle,
        "last_inbound_at": at,
    }
    statement = pg_insert(ChannelThread).values(values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["connector", "source", "thread_ref"],
            set_={
                "ticket_id": statement.excluded.ticket_id,
                "customer_id": statement.excluded.customer_id,
                "handle": statement.excluded.handle,
                "last_inbound_at": statement.excluded.last_inbound_at,
            },
        )
    )
