"""Merging two customer records that are one person: everything follows the survivor."""

from __future__ import annotations

from httpx import AsyncClient
from sqlalchemy import func, select

from app.models import CustomerMerge, SatisfactionSurvey
from tests.factories import Actor, Actors, assert_problem
from tests.merging.helpers import expect
from tests.tickets.helpers import (
    API,
    Maker,
    events,
    file_ticket,
    get_ticket,
    listed_ids,
    move_ok,
    reply,
)


async def _merge(client: AsyncClient, admin: Actor, user_id: int, into_id: int) -> dict[str, int]:
    result: dict[str, int] = expect(
        await client.post(
            f"{API}/users/{user_id}/merge", json={"into_id": into_id}, headers=admin.headers
        ),
        200,
    )
    return result


async def test_tickets_identities_and_surveys_follow_the_survivor(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    admin, agent = await actors.admin(), await actors.agent()
    old, new = await actors.customer(), await actors.customer()
    kept = await file_ticket(client, new)
    moved = [await file_ticket(client, old) for _ in range(2)]
    await reply(client, old, moved[0]["id"], "Written from my old address.")
    await move_ok(client, agent, moved[1]["id"], "resolved")  # a survey for `old`

    result = await _merge(client, admin, old.id, new.id)
    assert result == {
        "merged_id": old.id,
        "survivor_id": new.id,
        "tickets_moved": 2,
        "identities_moved": 1,
    }

    assert sorted(await listed_ids(client, new)) == sorted([kept["id"], *(t["id"] for t in moved)])
    ticket = await get_ticket(client, new, moved[0]["id"])
    assert ticket["requester"]["id"] == new.id
    messages = expect(
        await client.get(f"{API}/tickets/{moved[0]['id']}/messages", headers=new.headers), 200
    )
    assert [m["body"] for m in messages["items"]] == ["Written from my old address."]
    [changed] = [
        e
        for e in await events(client, agent, moved[0]["id"])
        if e["kind"] == "ticket.requester_changed"
    ]
    assert changed["visibility"] == "internal"
    assert (changed["data"]["from"]["id"], changed["data"]["to"]["id"]) == (old.id, new.id)
    assert "ticket.requester_changed" not in [
        e["kind"] for e in await events(client, new, moved[0]["id"])
    ]

    identities = expect(
        await client.get(f"{API}/users/{new.id}/identities", headers=admin.headers), 200
    )
    assert sorted(i["value"] for i in identities) == sorted([old.email, new.email])
    async with sessionmaker() as session:
        surveys = await session.scalar(
            select(func.count()).where(SatisfactionSurvey.requester_id == new.id)
        )
        pointer = await session.get(CustomerMerge, old.id)
    assert surveys == 1
    assert pointer is not None
    assert pointer.survivor_id == new.id

    # The merged record is closed: its token no longer works, and it cannot be merged again.
    assert_problem(await client.get(f"{API}/me", headers=old.headers), 401)
    user = expect(await client.get(f"{API}/users/{old.id}", headers=admin.headers), 200)
    assert user["active"] is False
    assert_problem(
        await client.post(
            f"{API}/users/{old.id}/merge", json={"into_id": new.id}, headers=admin.headers
        ),
        409,
    )
    # A ticket filed for the old address goes to the survivor.
    filed = await file_ticket(client, agent, requester={"email": old.email})
    assert filed["requester"]["id"] == new.id


async def test_only_admins_merge_and_only_customers(client: AsyncClient, actors: Actors) -> None:
    admin, supervisor, agent = await actors.admin(), await actors.supervisor(), await actors.agent()
    one, two = await actors.customer(), await actors.customer()
    for caller in (supervisor, agent, one):
        response = await client.post(
            f"{API}/users/{two.id}/merge", json={"into_id": one.id}, headers=caller.headers
        )
        assert_problem(response, 403)
    for user_id, into_id in ((agent.id, one.id), (one.id, agent.id)):
        response = await client.post(
            f"{API}/users/{user_id}/merge", json={"into_id": into_id}, headers=admin.headers
        )
        assert_problem(response, 422)
    same = await client.post(
        f"{API}/users/{one.id}/merge", json={"into_id": one.id}, headers=admin.headers
    )
    assert_problem(same, 422)
    missing = await client.post(
        f"{API}/users/{one.id}/merge", json={"into_id": 10**12}, headers=admin.headers
    )
    assert_problem(missing, 404)
