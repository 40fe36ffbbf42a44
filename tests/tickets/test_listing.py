"""GET /tickets: filters, newest-activity-first keyset pages that stay consistent while
tickets arrive, and full-text search that respects what the caller may read."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest
from httpx import AsyncClient
from sqlalchemy import update

from app.models import Ticket
from tests.factories import Actor, Actors, assert_problem, make_team
from tests.tickets.helpers import (
    JSON,
    Maker,
    all_pages,
    assign,
    bring_to,
    file_ticket,
    list_tickets,
    listed_ids,
    patch,
    reply,
)


async def file_many(client: AsyncClient, actor: Actor, count: int, **fields: object) -> list[int]:
    return [(await file_ticket(client, actor, **fields))["id"] for _ in range(count)]


# Filters


async def test_staff_see_every_ticket_newest_first(client: AsyncClient, actors: Actors) -> None:
    agent, one, two = await actors.agent(), await actors.customer(), await actors.customer()
    first = await file_ticket(client, one)
    second = await file_ticket(client, two)
    third = await file_ticket(client, agent)

    assert await listed_ids(client, agent) == [third["id"], second["id"], first["id"]]


async def test_activity_brings_a_ticket_to_the_top(client: AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()
    old, middle, new = await file_many(client, agent, 3)

    await reply(client, agent, old, "Bump", "internal")

    assert await listed_ids(client, agent) == [old, new, middle]


async def test_a_list_item_is_the_same_as_the_ticket_read_alone(
    client: AsyncClient, actors: Actors
) -> None:
    agent = await actors.agent()
    ticket = await file_ticket(client, agent, tags=["a"], category="c")
    await assign(client, agent, ticket["id"], agent.id)

    [item] = (await list_tickets(client, agent))["items"]
    alone = (await client.get(f"/api/v1/tickets/{ticket['id']}", headers=agent.headers)).json()

    assert item == alone


async def test_status_filter_is_repeatable(client: AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()
    new, opened, pending, resolved = await file_many(client, agent, 4)
    await bring_to(client, agent, opened, "open")
    await bring_to(client, agent, pending, "pending")
    await bring_to(client, agent, resolved, "resolved")

    assert await listed_ids(client, agent, status="pending") == [pending]
    assert set(await listed_ids(client, agent, status=["new", "resolved"])) == {new, resolved}


async def test_owner_filter(client: AsyncClient, actors: Actors) -> None:
    agent, other = await actors.agent(), await actors.agent()
    mine, theirs, _nobodys = await file_many(client, agent, 3)
    await assign(client, agent, mine, agent.id)
    await assign(client, agent, theirs, other.id)

    assert await listed_ids(client, agent, owner_id=agent.id) == [mine]
    assert await listed_ids(client, agent, owner_id=other.id) == [theirs]


async def test_team_filter(client: AsyncClient, actors: Actors, sessionmaker: Maker) -> None:
    agent = await actors.agent()
    billing, network = await make_team(sessionmaker), await make_team(sessionmaker)
    in_billing = await file_ticket(client, agent, team_id=billing)
    await file_ticket(client, agent, team_id=network)
    await file_ticket(client, agent)

    assert await listed_ids(client, agent, team_id=billing) == [in_billing["id"]]


async def test_priority_filter_is_repeatable(client: AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()
    critical = await file_ticket(client, agent, urgency="high", impact="high")
    planning = await file_ticket(client, agent, urgency="low", impact="low")
    await file_ticket(client, agent)

    assert await listed_ids(client, agent, priority="critical") == [critical["id"]]
    assert set(await listed_ids(client, agent, priority=["critical", "planning"])) == {
        critical["id"],
        planning["id"],
    }


async def test_priority_filter_follows_a_changed_urgency(
    client: AsyncClient, actors: Actors
) -> None:
    agent = await actors.agent()
    ticket = await file_ticket(client, agent)

    await patch(client, agent, ticket["id"], urgency="high", impact="high")

    assert await listed_ids(client, agent, priority="critical") == [ticket["id"]]
    assert await listed_ids(client, agent, priority="medium") == []


async def test_requester_filter(client: AsyncClient, actors: Actors) -> None:
    agent, one, two = await actors.agent(), await actors.customer(), await actors.customer()
    ones = await file_ticket(client, one)
    await file_ticket(client, two)

    assert await listed_ids(client, agent, requester_id=one.id) == [ones["id"]]


async def test_category_filter_is_exact(client: AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()
    network = await file_ticket(client, agent, category="network")
    await file_ticket(client, agent, category="networking")
    await file_ticket(client, agent)

    assert await listed_ids(client, agent, category="network") == [network["id"]]


async def test_tag_filter_ignores_case(client: AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()
    vip = await file_ticket(client, agent, tags=["VIP", "billing"])
    await file_ticket(client, agent, tags=["billing"])

    assert await listed_ids(client, agent, tag="vip") == [vip["id"]]
    assert await listed_ids(client, agent, tag="Vip") == [vip["id"]]


async def test_channel_filter(client: AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()
    phone = await file_ticket(client, agent, channel="phone")
    await file_ticket(client, agent, channel="email")

    assert await listed_ids(client, agent, channel="phone") == [phone["id"]]


async def test_updated_since_keeps_tickets_changed_at_or_after_the_moment(
    client: AsyncClient, actors: Actors
) -> None:
    agent = await actors.agent()
    old = await file_ticket(client, agent)
    later = await file_ticket(client, agent)
    since = later["updated_at"]

    assert await listed_ids(client, agent, updated_since=since) == [later["id"]]

    await reply(client, agent, old["id"], "Touch", "internal")
    assert await listed_ids(client, agent, updated_since=since) == [old["id"], later["id"]]


async def test_updated_since_accepts_any_utc_offset(client: AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()
    ticket = await file_ticket(client, agent)
    moment = datetime.fromisoformat(ticket["updated_at"])
    in_rome = moment.astimezone(timezone(timedelta(hours=1))).isoformat()
    a_moment_later = (moment + timedelta(microseconds=1)).astimezone(timezone(timedelta(hours=-5)))

    assert await listed_ids(client, agent, updated_since=in_rome) == [ticket["id"]]
    assert await listed_ids(client, agent, updated_since=a_moment_later.isoformat()) == []


async def test_filters_combine(client: AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()
    match = await file_ticket(client, agent, channel="phone", tags=["vip"], category="hw")
    await file_ticket(client, agent, channel="phone", tags=["vip"], category="sw")
    await file_ticket(client, agent, channel="email", tags=["vip"], category="hw")
    await bring_to(client, agent, match["id"], "open")

    ids = await listed_ids(client, agent, channel="phone", tag="vip", category="hw", status="open")

    assert ids == [match["id"]]


async def test_a_filter_that_matches_nothing_is_an_empty_page(
    client: AsyncClient, actors: Actors
) -> None:
    agent = await actors.agent()
    await file_ticket(client, agent)

    page = await list_tickets(client, agent, owner_id=999_999)

    assert page == {"items": [], "next_cursor": None}


# Pages


async def test_pages_cover_every_ticket_once_in_order(client: AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()
    ids = await file_many(client, agent, 7)

    first = await list_tickets(client, agent, limit=3)
    assert len(first["items"]) == 3
    assert first["next_cursor"]

    assert await all_pages(client, agent, limit=3) == list(reversed(ids))


async def test_the_last_page_has_no_cursor(client: AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()
    await file_many(client, agent, 2)

    page = await list_tickets(client, agent, limit=5)

    assert len(page["items"]) == 2
    assert page["next_cursor"] is None


async def test_the_default_page_size_is_50(client: AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()
    await file_many(client, agent, 51)

    page = await list_tickets(client, agent)

    assert len(page["items"]) == 50
    assert page["next_cursor"]


async def test_tickets_with_the_same_activity_time_are_neither_repeated_nor_skipped(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    agent = await actors.agent()
    ids = await file_many(client, agent, 7)
    same = datetime(2030, 1, 1, tzinfo=UTC)
    async with sessionmaker() as session, session.begin():
        await session.execute(update(Ticket).values(updated_at=same))

    assert await all_pages(client, agent, limit=2) == sorted(ids, reverse=True)


async def test_pages_stay_consistent_when_tickets_arrive_between_fetches(
    client: AsyncClient, actors: Actors
) -> None:
    agent = await actors.agent()
    ids = await file_many(client, agent, 10)
    expected = list(reversed(ids))

    seen: list[int] = []
    page = await list_tickets(client, agent, limit=4)
    while True:
        seen += [ticket["id"] for ticket in page["items"]]
        await file_many(client, agent, 3)  # newer than everything being paged through
        if page["next_cursor"] is None:
            break
        page = await list_tickets(client, agent, limit=4, cursor=page["next_cursor"])

    assert seen == expected


async def test_pages_stay_consistent_while_tickets_are_inserted_concurrently(
    client: AsyncClient, actors: Actors
) -> None:
    agent, customer = await actors.agent(), await actors.customer()
    before = await file_many(client, customer, 12)
    done = asyncio.Event()

    async def insert() -> list[int]:
        inserted: list[int] = []
        while not done.is_set():
            inserted.append((await file_ticket(client, customer))["id"])
        return inserted

    async def read() -> list[JSON]:
        items: list[JSON] = []
        cursor: str | None = None
        try:
            while True:
                params: dict[str, object] = {"limit": 3}
                if cursor is not None:
                    params["cursor"] = cursor
                page = await list_tickets(client, agent, **params)
                items += page["items"]
                cursor = page["next_cursor"]
                if cursor is None:
                    return items
                await asyncio.sleep(0.01)
        finally:
            done.set()

    inserted, items = await asyncio.gather(insert(), read())

    ids = [item["id"] for item in items]
    assert inserted, "nothing was inserted while paging; the test proves nothing"
    assert len(ids) == len(set(ids)), "a ticket appeared twice"
    assert [i for i in ids if i in before] == list(reversed(before)), "skipped or reordered"
    assert set(ids) - set(before) <= set(inserted)
    keys = [(item["updated_at"], item["id"]) for item in items]
    parsed = [(datetime.fromisoformat(at), i) for at, i in keys]
    assert parsed == sorted(parsed, reverse=True)


async def test_a_cursor_keeps_the_filters_it_was_made_with(
    client: AsyncClient, actors: Actors
) -> None:
    agent = await actors.agent()
    vip = await file_many(client, agent, 5, tags=["vip"])
    await file_many(client, agent, 5)

    assert await all_pages(client, agent, limit=2, tag="vip") == list(reversed(vip))


async def test_a_tampered_cursor_is_400(client: AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()

    response = await client.get(
        "/api/v1/tickets", params={"cursor": "not-a-cursor"}, headers=agent.headers
    )

    assert_problem(response, 400)


# Search


async def test_search_matches_words_in_the_subject(client: AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()
    match = await file_ticket(client, agent, subject="Printer jammed", description="Help")
    await file_ticket(client, agent, subject="Screen broken", description="Help")

    assert await listed_ids(client, agent, q="printer") == [match["id"]]


async def test_search_matches_words_in_the_description(client: AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()
    match = await file_ticket(client, agent, subject="Help", description="The toner smells")
    await file_ticket(client, agent, subject="Help", description="The screen flickers")

    assert await listed_ids(client, agent, q="toner") == [match["id"]]


async def test_search_matches_words_in_public_replies(client: AsyncClient, actors: Actors) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    match = await file_ticket(client, customer)
    await file_ticket(client, customer)

    await reply(client, customer, match["id"], "The serial is XK42Z")

    assert await listed_ids(client, customer, q="xk42z") == [match["id"]]
    assert await listed_ids(client, agent, q="XK42Z") == [match["id"]]


async def test_staff_search_matches_words_in_internal_notes(
    client: AsyncClient, actors: Actors
) -> None:
    agent = await actors.agent()
    match = await file_ticket(client, agent)
    await file_ticket(client, agent)

    await reply(client, agent, match["id"], "Suspect the firmware rollout", "internal")

    assert await listed_ids(client, agent, q="firmware") == [match["id"]]


@pytest.mark.parametrize("role", ["customer", "integration"])
async def test_a_requester_search_never_matches_words_only_in_an_internal_note(
    client: AsyncClient, actors: Actors, role: str
) -> None:
    agent = await actors.agent()
    requester = await (actors.customer() if role == "customer" else actors.integration())
    ticket = await file_ticket(client, requester)

    await reply(client, agent, ticket["id"], "Customer is on the blocklist", "internal")

    assert await listed_ids(client, requester, q="blocklist") == []
    assert await listed_ids(client, agent, q="blocklist") == [ticket["id"]]


async def test_a_subject_change_keeps_public_replies_searchable_and_notes_hidden(
    client: AsyncClient, actors: Actors
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await file_ticket(client, customer, subject="Wifi slow", description="Office")
    await reply(client, agent, ticket["id"], "Try channel eleven")
    await reply(client, agent, ticket["id"], "Router is counterfeit", "internal")

    await patch(client, agent, ticket["id"], subject="Wireless outage")

    assert await listed_ids(client, customer, q="wireless") == [ticket["id"]]
    assert await listed_ids(client, customer, q="wifi") == []
    assert await listed_ids(client, customer, q="eleven") == [ticket["id"]]
    assert await listed_ids(client, customer, q="counterfeit") == []
    assert await listed_ids(client, agent, q="counterfeit") == [ticket["id"]]


async def test_search_understands_phrases_and_exclusions(
    client: AsyncClient, actors: Actors
) -> None:
    agent = await actors.agent()
    red = await file_ticket(client, agent, subject="red printer", description="x")
    await file_ticket(client, agent, subject="printer red", description="x")
    await file_ticket(client, agent, subject="blue printer", description="x")

    assert await listed_ids(client, agent, q='"red printer"') == [red["id"]]
    assert await listed_ids(client, agent, q="printer -red -blue") == []


async def test_search_takes_hostile_syntax_as_plain_words(
    client: AsyncClient, actors: Actors
) -> None:
    agent = await actors.agent()
    await file_ticket(client, agent)

    for q in ["'", "a & | ! b", "(((", "<-> :*", "\\", "%", "or 1=1 --"]:
        response = await client.get("/api/v1/tickets", params={"q": q}, headers=agent.headers)
        assert response.status_code == 200, (q, response.text)


async def test_search_combines_with_filters(client: AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()
    match = await file_ticket(client, agent, subject="printer", tags=["vip"])
    await file_ticket(client, agent, subject="printer")

    assert await listed_ids(client, agent, q="printer", tag="vip") == [match["id"]]


async def test_hidden_activity_does_not_reorder_a_customers_list(
    client: AsyncClient, actors: Actors
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    older = await file_ticket(client, customer, subject="Older")
    newer = await file_ticket(client, customer, subject="Newer")

    await reply(client, agent, older["id"], "Internal only", "internal")

    # Staff: newest activity first; the customer: nothing they can see moved.
    assert await listed_ids(client, agent) == [older["id"], newer["id"]]
    assert await listed_ids(client, customer) == [newer["id"], older["id"]]
    since = await listed_ids(client, customer, updated_since=newer["updated_at"])
    assert since == [newer["id"]]
    # A public reply is theirs to see: it moves the ticket up their list.
    await reply(client, agent, older["id"], "Public answer")
    assert await listed_ids(client, customer) == [older["id"], newer["id"]]
