"""Search finds its page three ways (a short walk in activity order, the GIN index and a
sort, the full walk); whichever way a page is found, it is the same page, and the pages
of a search cover every match once, newest activity first, ties included.

At test sizes every search takes the first way, so the thresholds are lowered here to
force the others on the same data."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from httpx import AsyncClient
from sqlalchemy import update

from app.models import Ticket
from app.tickets import repository
from tests.factories import Actor, Actors
from tests.tickets.helpers import JSON, Maker, all_pages, file_ticket, list_tickets, reply

# (walk rows, sort cap): walk finds the page | GIN index then sort | full walk.
PATHS = {"walk": (10_000, 10_000), "index": (1, 10_000), "full walk": (1, 2)}


@pytest.fixture(params=sorted(PATHS))
def search_path(request: pytest.FixtureRequest) -> Iterator[str]:
    name: str = request.param
    walk, cap = PATHS[name]
    saved = repository.SEARCH_WALK_ROWS, repository.SEARCH_SORT_CAP
    repository.SEARCH_WALK_ROWS, repository.SEARCH_SORT_CAP = walk, cap
    yield name
    repository.SEARCH_WALK_ROWS, repository.SEARCH_SORT_CAP = saved


async def _file(client: AsyncClient, actor: Actor, subject: str, **fields: object) -> int:
    ticket: JSON = await file_ticket(client, actor, subject=subject, **fields)
    ticket_id: int = ticket["id"]
    return ticket_id


async def test_search_pages_are_the_same_whichever_way_they_are_found(
    client: AsyncClient, actors: Actors, sessionmaker: Maker, search_path: str
) -> None:
    agent = await actors.agent()
    matches = [await _file(client, agent, f"Router {n} keeps rebooting") for n in range(7)]
    for n in range(5):
        await _file(client, agent, f"Printer {n} jammed")
    # Three matches share one older activity time: the id breaks the tie, and a page
    # edge inside the tie neither repeats nor skips one.
    tied = datetime(2020, 1, 1, tzinfo=UTC)
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(Ticket).where(Ticket.id.in_(matches[1:4])).values(updated_at=tied)
        )
    expected = [*sorted(matches[4:], reverse=True), matches[0]]
    expected += sorted(matches[1:4], reverse=True)

    assert await all_pages(client, agent, q="router", limit=2) == expected
    assert await all_pages(client, agent, q="router", limit=200) == expected
    assert await all_pages(client, agent, q="nowhere") == []


async def test_search_paths_keep_filters_and_what_customers_may_read(
    client: AsyncClient, actors: Actors, search_path: str
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    mine = [await _file(client, customer, f"Modem {n} offline") for n in range(4)]
    others = [await _file(client, agent, f"Modem {n} offline") for n in range(3)]
    await reply(client, agent, mine[0], "Tell nobody: the modem firmware is recalled", "internal")
    await reply(client, agent, others[0], "firmware recall again", "internal")

    # The notes brought their tickets to the top of staff lists; the customer's list is
    # ordered by what they can see, so an internal note moves nothing there.
    newest_first = [others[0], mine[0], others[2], others[1], mine[3], mine[2], mine[1]]
    assert await all_pages(client, customer, q="modem", limit=3) == mine[::-1]
    assert await all_pages(client, customer, q="firmware") == []
    assert await all_pages(client, agent, q="firmware", limit=1) == [others[0], mine[0]]
    assert await all_pages(client, agent, q="modem", limit=2) == newest_first
    new_ones = await all_pages(client, agent, status="new")
    assert await all_pages(client, agent, q="modem", status="new", limit=2) == [
        t for t in newest_first if t in new_ones
    ]


async def test_a_search_page_carries_an_events_cursor_even_when_empty(
    client: AsyncClient, actors: Actors, search_path: str
) -> None:
    agent = await actors.agent()
    await _file(client, agent, "Screen flickers")

    found = await client.get("/api/v1/tickets", params={"q": "screen"}, headers=agent.headers)
    nothing = await client.get("/api/v1/tickets", params={"q": "keyboard"}, headers=agent.headers)

    assert found.status_code == nothing.status_code == 200
    assert found.headers["X-Events-Cursor"]
    assert nothing.headers["X-Events-Cursor"]
    assert (await list_tickets(client, agent, q="keyboard"))["items"] == []


async def test_search_finds_a_ticket_by_its_external_reference(
    client: AsyncClient, actors: Actors, search_path: str
) -> None:
    integration, agent = await actors.integration(), await actors.agent()
    customer = await actors.customer()
    shop = await _file(
        client, integration, "Parcel lost", requester_id=customer.id, external_ref="SHOP-7781"
    )
    await _file(client, agent, "Printer jammed")

    assert await all_pages(client, agent, q="SHOP-7781") == [shop]
    assert await all_pages(client, integration, q=" SHOP-7781 ") == [shop]
    assert await all_pages(client, customer, q="SHOP-7781") == [shop]
    assert await all_pages(client, agent, q="SHOP-778") == []
