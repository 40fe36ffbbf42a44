"""Reactions: a capability plugs into the write path with one registration, and never
by being called from the ticket service."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app import wiring
from app.config import Settings
from app.continuity import handover
from app.db import create_sessionmaker
from app.events.kinds import EventKind
from app.events.reactions import Batch, Filing, Reactions, Slot, bind
from app.events.recorder import record_event
from app.events.records import Recorded
from app.main import create_app
from app.models import Role, Ticket, TicketEvent, User, Visibility
from app.tickets.filing import create_ticket
from app.tickets.schemas import TicketCreate
from app.tickets.service import apply_changes
from tests.continuity.helpers import assign, away, days_from_now, file_ticket
from tests.factories import Actors

API = "/api/v1"


@pytest.fixture
def engine(app: FastAPI) -> AsyncEngine:
    created: AsyncEngine = app.state.engine
    return created


def _maker(engine: AsyncEngine, reactions: Reactions) -> async_sessionmaker[AsyncSession]:
    maker = create_sessionmaker(engine)
    bind(maker, reactions)
    return maker


async def _file_as(maker: async_sessionmaker[AsyncSession], customer_id: int) -> int:
    """File a ticket for a customer through the service, in a session of `maker`."""
    async with maker() as session, session.begin():
        customer = await session.get(User, customer_id)
        assert customer is not None
        filed = await create_ticket(
            session, customer, TicketCreate(subject="s", description="d"), search_config="simple"
        )
    return filed.ticket.id


@dataclass
class Spy:
    """Records each call of a reaction: the kinds and tickets of the events it got."""

    calls: list[list[tuple[str, int]]] = field(default_factory=list)

    async def __call__(self, batch: Batch, recorded: Sequence[Recorded]) -> None:
        self.calls.append([(r.event.kind, r.ticket.id) for r in recorded])


@pytest.fixture
async def spied(settings: Settings) -> AsyncIterator[tuple[FastAPI, Spy, Spy]]:
    """The service with two reactions of a test's own, added the way a new domain adds
    its own: one line of registration, nothing in tickets/."""
    on_created, on_everything = Spy(), Spy()
    reactions = (
        wiring.reactions().on({EventKind.TICKET_CREATED}, on_created).on_settled(on_everything)
    )
    application = create_app(settings, reactions=reactions)
    async with application.router.lifespan_context(application):
        yield application, on_created, on_everything


async def test_a_reaction_registered_at_start_up_gets_the_events_of_its_kinds(
    spied: tuple[FastAPI, Spy, Spy], actors: Actors
) -> None:
    application, on_created, on_everything = spied
    customer = await actors.customer()
    async with AsyncClient(
        transport=ASGITransport(app=application), base_url="http://testserver"
    ) as http:
        created = await http.post(
            f"{API}/tickets", json={"subject": "s", "description": "d"}, headers=customer.headers
        )
        assert created.status_code == 201, created.text
        ticket_id = created.json()["id"]
        resolved = await http.post(
            f"{API}/tickets/{ticket_id}/status",
            json={"status": "resolved"},
            headers=customer.headers,
        )
        assert resolved.status_code == 200, resolved.text

    assert on_created.calls == [[("ticket.created", ticket_id)]]
    # Settled reactions see every event, one call per change.
    assert on_everything.calls == [
        [("ticket.created", ticket_id)],
        [("ticket.status_changed", ticket_id)],
    ]


async def test_a_handover_calls_a_reaction_once_per_batch_not_once_per_ticket(
    client: AsyncClient, actors: Actors, engine: AsyncEngine
) -> None:
    marco = await actors.make(Role.AGENT, name="Marco")
    anna = await actors.make(Role.AGENT, name="Anna")
    supervisor = await actors.supervisor()
    for _ in range(12):
        ticket = await file_ticket(client, supervisor)
        await assign(client, supervisor, ticket["id"], marco.id)
    admin = await actors.admin()
    await away(client, admin, marco.id, ends_at=days_from_now(5), backup_id=anna.id)

    spy = Spy()
    maker = _maker(engine, wiring.reactions().on({EventKind.OWNER_CHANGED}, spy))
    outcome = await handover.hand_over(maker, marco.id, batch_size=5)

    assert outcome.moved == 12
    assert [len(call) for call in spy.calls] == [5, 5, 2]
    assert {kind for call in spy.calls for kind, _ in call} == {"ticket.owner_changed"}


async def test_a_filing_reaction_completes_the_row_before_it_is_inserted(
    actors: Actors, sessionmaker: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    seen_ids: list[int | None] = []

    async def tag_vip(session: AsyncSession, filings: Sequence[Filing]) -> None:
        for filing in filings:
            seen_ids.append(filing.ticket.id)
            filing.ticket.tags = [*filing.ticket.tags, "vip"]

    maker = _maker(engine, wiring.reactions().on_filing(tag_vip))
    customer = await actors.customer()
    ticket_id = await _file_as(maker, customer.id)
    assert seen_ids == [None]  # no row yet
    async with sessionmaker() as session:
        stored = await session.get(Ticket, ticket_id)
        assert stored is not None
        assert stored.tags == ["vip"]
        assert stored.version == 1  # written once, as it ended up


LEFT: Slot[str] = Slot("test notes")


async def test_what_a_reaction_records_is_reacted_to_in_the_next_round(
    actors: Actors, sessionmaker: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    """A reaction registered before the one that records still sees the new events, and
    the settled reactions see everything in order, once."""
    updates, settled = Spy(), Spy()
    notes: list[list[str]] = []

    async def tag_on_creation(batch: Batch, recorded: Sequence[Recorded]) -> None:
        for item in recorded:
            actor = item.actor
            assert actor is not None
            await apply_changes(batch.session, actor, item.ticket, {"tags": ["seen"]})
            batch.leave(LEFT, f"tagged {item.ticket.id}")

    async def read_notes(batch: Batch, recorded: Sequence[Recorded]) -> None:
        notes.append(batch.collected(LEFT))

    maker = _maker(
        engine,
        Reactions()
        .on({EventKind.TICKET_UPDATED}, updates)
        .on({EventKind.TICKET_CREATED}, tag_on_creation)
        .on_settled(settled)
        .on_settled(read_notes),
    )
    customer = await actors.customer()
    ticket_id = await _file_as(maker, customer.id)
    assert updates.calls == [[("ticket.updated", ticket_id)]]
    assert settled.calls == [[("ticket.created", ticket_id), ("ticket.updated", ticket_id)]]
    assert notes == [[f"tagged {ticket_id}"]]
    async with sessionmaker() as session:
        kinds = list(
            await session.scalars(
                select(TicketEvent.kind)
                .where(TicketEvent.ticket_id == ticket_id)
                .order_by(TicketEvent.id)
            )
        )
    assert kinds == ["ticket.created", "ticket.updated"]


async def test_a_reaction_that_feeds_itself_is_stopped_and_nothing_is_written(
    actors: Actors,
    sessionmaker: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    client: AsyncClient,
) -> None:
    async def echo(batch: Batch, recorded: Sequence[Recorded]) -> None:
        for item in recorded:
            await record_event(
                batch.session,
                item.ticket,
                EventKind.TICKET_UPDATED,
                actor=None,
                visibility=Visibility.INTERNAL,
                data={"changes": {}},
            )

    customer = await actors.customer()
    created = await client.post(
        f"{API}/tickets", json={"subject": "s", "description": "d"}, headers=customer.headers
    )
    ticket_id = created.json()["id"]
    maker = _maker(engine, Reactions().on({EventKind.TICKET_UPDATED}, echo))
    with pytest.raises(RuntimeError, match="did not settle"):
        await _record_an_update(maker, ticket_id)
    async with sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).select_from(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
        )
    assert count == 1  # only ticket.created: the failed change was rolled back


async def test_a_session_without_reactions_refuses_to_record(
    actors: Actors, engine: AsyncEngine, client: AsyncClient
) -> None:
    """Recording without the reactions would write events nobody is told about."""
    customer = await actors.customer()
    created = await client.post(
        f"{API}/tickets", json={"subject": "s", "description": "d"}, headers=customer.headers
    )
    bare = create_sessionmaker(engine)
    with pytest.raises(RuntimeError, match="no reactions bound"):
        await _record_an_update(bare, created.json()["id"])


async def _record_an_update(maker: async_sessionmaker[AsyncSession], ticket_id: int) -> None:
    async with maker() as session, session.begin():
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        await record_event(
            session,
            ticket,
            EventKind.TICKET_UPDATED,
            actor=None,
            visibility=Visibility.INTERNAL,
            data={"changes": {}},
        )
