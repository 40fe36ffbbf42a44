"""The queue by service level (`sort=sla_due`) and the tickets nobody owns
(`owner_id=none`), through the API."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient

from tests.factories import Actors, assert_problem
from tests.tickets.helpers import assign, file_ticket, list_tickets, move_ok

API = "/api/v1"


async def _all(client: AsyncClient, actor: Any, **params: Any) -> list[int]:
    ids: list[int] = []
    cursor = None
    while True:
        page = await list_tickets(client, actor, **params, **({"cursor": cursor} if cursor else {}))
        ids += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids


async def test_sla_due_puts_the_soonest_due_first_and_stopped_clocks_last(
    client: AsyncClient, actors: Actors
) -> None:
    agent = await actors.agent()
    planning = await file_ticket(client, agent, urgency="low", impact="low")  # due in 24 h
    critical = await file_ticket(client, agent, urgency="high", impact="high")  # 15 min
    medium = await file_ticket(client, agent)  # 4 h
    waiting = await file_ticket(client, agent, urgency="high", impact="high")
    await move_ok(client, agent, waiting["id"], "open")
    await move_ok(client, agent, waiting["id"], "pending")  # paused: last
    high = await file_ticket(client, agent, urgency="high", impact="medium")  # 60 min

    expected = [critical["id"], high["id"], medium["id"], planning["id"], waiting["id"]]
    assert await _all(client, agent, sort="sla_due") == expected
    assert await _all(client, agent, sort="sla_due", limit=2) == expected  # keyset pages
    # Today's order is unchanged beside it: newest activity first.
    newest = await _all(client, agent)
    assert newest[0] == high["id"]


async def test_a_forged_sla_cursor_is_a_400(client: AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()
    response = await client.get(
        f"{API}/tickets", params={"sort": "sla_due", "cursor": "bm9wZQ"}, headers=agent.headers
    )
    assert_problem(response, 400)
    response = await client.get(f"{API}/tickets", params={"sort": "soon"}, headers=agent.headers)
    assert_problem(response, 422)


async def test_owner_id_none_lists_the_tickets_nobody_owns(
    client: AsyncClient, actors: Actors
) -> None:
    agent = await actors.agent()
    owned = await file_ticket(client, agent)
    await assign(client, agent, owned["id"], agent.id)
    unowned = await file_ticket(client, agent)

    assert await _all(client, agent, owner_id="none") == [unowned["id"]]
    assert await _all(client, agent, owner_id=agent.id) == [owned["id"]]
    response = await client.get(
        f"{API}/tickets", params={"owner_id": "nobody"}, headers=agent.headers
    )
    assert_problem(response, 422)
