"""Delivery guarantees: across processes, across a lost database connection, and for
transactions that commit out of id order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.live.hub import HUB_APPLICATION_NAME
from app.main import create_app
from app.models import Role, User
from app.tickets import filing
from app.tickets.schemas import TicketCreate
from tests.factories import Actors
from tests.live.conftest import LiveServer, live_client, serve


@pytest.fixture
async def second_process(settings: Settings) -> AsyncIterator[FastAPI]:
    """Another app instance with its own hub and LISTEN connection: a second process."""
    other = create_app(settings)
    async with other.router.lifespan_context(other):
        yield other


def _created(ticket_id: int) -> Any:
    return lambda f: f["event"]["kind"] == "ticket.created" and f["event"]["ticket_id"] == ticket_id


async def test_an_event_written_in_one_process_reaches_a_socket_on_another(
    second_process: FastAPI, actors: Actors
) -> None:
    agent, customer = await actors.agent(), await actors.customer()
    transport = ASGITransport(app=second_process)
    async with (
        serve(second_process) as other_server,
        AsyncClient(transport=transport, base_url="http://other") as other_http,
        live_client(other_server, agent.token) as live,
    ):
        await live.subscribe("queue:all")
        # The write goes through the *first* app (the `actors` client) ...
        filed = await actors.client.post(
            "/api/v1/tickets", json={"subject": "s", "description": "d"}, headers=customer.headers
        )
        # ... and through the second, while the socket is on the second.
        also = await other_http.post(
            "/api/v1/tickets", json={"subject": "t", "description": "d"}, headers=customer.headers
        )
        frames = await live.events_until(_created(also.json()["id"]))
    received = {frame["event"]["ticket_id"] for frame in frames}
    assert {filed.json()["id"], also.json()["id"]} <= received


async def test_the_hub_reconnects_and_backfills_after_losing_the_database(
    live_server: LiveServer, actors: Actors, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    agent, customer = await actors.agent(), await actors.customer()
    async with live_client(live_server, agent.token) as live:
        await live.subscribe("queue:all")
        async with sessionmaker() as session:
            killed = await session.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = :name AND datname = current_database()"
                ),
                {"name": HUB_APPLICATION_NAME},
            )
        assert killed
        assert killed >= 1
        filed = [
            await actors.client.post(
                "/api/v1/tickets",
                json={"subject": f"during outage {n}", "description": "d"},
                headers=customer.headers,
            )
            for n in range(3)
        ]
        frames = await live.events_until(_created(filed[-1].json()["id"]), within=15)
    assert {f.json()["id"] for f in filed} <= {fr["event"]["ticket_id"] for fr in frames}


async def test_a_late_commit_is_not_skipped_by_a_client_resuming_from_its_cursor(
    live_server: LiveServer, actors: Actors, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """Transaction A writes first (smaller id and txid) but commits after B. A client
    that saw B, disconnected, and resumes with B's cursor must still get A."""
    agent, customer = await actors.agent(), await actors.customer()
    async with live_client(live_server, agent.token) as live:
        await live.subscribe("queue:all")
        slow: AsyncSession = sessionmaker()
        actor = await slow.get(User, customer.id)
        assert actor is not None
        assert actor.role is Role.CUSTOMER
        filed = await filing.create_ticket(
            slow,
            actor,
            TicketCreate(subject="committed late", description="d"),
            search_config="simple",
        )
        late = filed.ticket
        quick = await actors.client.post(
            "/api/v1/tickets",
            json={"subject": "quick", "description": "d"},
            headers=customer.headers,
        )
        frames = await live.events_until(_created(quick.json()["id"]))
        cursor = frames[-1]["cursor"]
    await slow.commit()
    await slow.close()
    await asyncio.sleep(0.2)
    async with live_client(live_server, agent.token) as live:
        await live.subscribe("queue:all", since=cursor)
        resumed = await live.events_until(_created(late.id))
    assert resumed[-1]["event"]["data"]["subject"] == "committed late"
