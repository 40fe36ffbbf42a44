"""Duplicates merged into one primary record, and the count of customers behind it."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient

from tests.factories import Actor, Actors, assert_problem
from tests.feedback.conftest import Mailbox, text_of
from tests.feedback.helpers import API, JSON, expect, feedback_step, file_feedback


async def _vote(client: AsyncClient, actor: Actor, feedback_id: int, **body: Any) -> Any:
    return await client.post(
        f"{API}/feedback/{feedback_id}/votes", json=body or None, headers=actor.headers
    )


async def _read(client: AsyncClient, actor: Actor, feedback_id: int) -> JSON:
    return expect(await client.get(f"{API}/feedback/{feedback_id}", headers=actor.headers), 200)


async def test_customers_vote_once_and_staff_count_them(
    client: AsyncClient, actors: Actors
) -> None:
    author, bob, carol = await actors.customer(), await actors.customer(), await actors.customer()
    agent = await actors.agent()
    idea = await file_feedback(client, author, kind="suggestion", body="Offline mode")

    vote = expect(await _vote(client, bob, idea["id"]), 201)
    assert (vote["feedback_id"], vote["customer_id"]) == (idea["id"], bob.id)
    assert set(vote) == {"id", "feedback_id", "customer_id", "created_at"}
    expect(await _vote(client, agent, idea["id"], customer_id=carol.id), 201)
    assert_problem(await _vote(client, bob, idea["id"]), 409)
    assert_problem(await _vote(client, author, idea["id"]), 409)  # already counted as author
    assert_problem(await _vote(client, agent, idea["id"]), 422)  # staff must name a customer
    assert_problem(await _vote(client, bob, idea["id"], customer_id=carol.id), 422)

    counted = await _read(client, agent, idea["id"])
    assert (counted["votes"], counted["supporters"]) == (2, 3)
    # Bob voted, but may still not read someone else's suggestion.
    assert_problem(await client.get(f"{API}/feedback/{idea['id']}", headers=bob.headers), 404)
    voters = expect(
        await client.get(f"{API}/feedback/{idea['id']}/votes?limit=1", headers=agent.headers), 200
    )
    assert [v["customer_id"] for v in voters["items"]] == [bob.id]
    rest = expect(
        await client.get(
            f"{API}/feedback/{idea['id']}/votes?limit=1&cursor={voters['next_cursor']}",
            headers=agent.headers,
        ),
        200,
    )
    assert [v["customer_id"] for v in rest["items"]] == [carol.id]


async def test_only_suggestions_and_improvement_requests_take_votes(
    client: AsyncClient, actors: Actors
) -> None:
    author, other, agent = await actors.customer(), await actors.customer(), await actors.agent()
    praise = await file_feedback(client, author, kind="praise")
    assert_problem(await _vote(client, agent, praise["id"], customer_id=other.id), 409)
    assert_problem(await _vote(client, other, praise["id"]), 404)  # nothing revealed
    assert_problem(await _vote(client, other, 999_999), 404)


async def test_a_retried_vote_replays(client: AsyncClient, actors: Actors) -> None:
    author, bob = await actors.customer(), await actors.customer()
    idea = await file_feedback(client, author)
    headers = {**bob.headers, "Idempotency-Key": "vote-1"}
    first = await client.post(f"{API}/feedback/{idea['id']}/votes", headers=headers)
    again = await client.post(f"{API}/feedback/{idea['id']}/votes", headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"


async def test_duplicates_merge_into_one_primary_that_carries_them_all(
    client: AsyncClient, actors: Actors, mailbox: Mailbox
) -> None:
    alice, bob, carol, dave = [await actors.customer() for _ in range(4)]
    agent = await actors.agent()
    primary = await file_feedback(client, alice, kind="suggestion", body="Export to PDF")
    copy = await file_feedback(client, bob, kind="suggestion", body="PDF export please")
    expect(await _vote(client, carol, copy["id"]), 201)
    expect(await feedback_step(client, agent, primary["id"], "acknowledged", "On our list."), 200)
    await mailbox.deliver()

    merged = expect(
        await client.patch(
            f"{API}/feedback/{copy['id']}",
            json={"primary_id": primary["id"]},
            headers=agent.headers,
        ),
        200,
    )
    assert merged["primary_id"] == primary["id"]
    assert merged["status"] == "acknowledged"  # a duplicate shows its primary's status
    counted = await _read(client, agent, primary["id"])
    assert (counted["duplicates"], counted["votes"], counted["supporters"]) == (1, 1, 3)

    # A vote through the duplicate counts for the primary; nobody is counted twice.
    assert_problem(await _vote(client, carol, primary["id"]), 409)
    expect(await _vote(client, dave, copy["id"]), 201)
    assert (await _read(client, agent, primary["id"]))["supporters"] == 4

    # The duplicate follows its primary, and its author is told.
    refused = assert_problem(await feedback_step(client, agent, copy["id"], "planned"), 409)
    assert refused["primary_id"] == primary["id"]
    expect(
        await feedback_step(client, agent, primary["id"], "planned", "In the next release."), 200
    )
    bobs = expect(await client.get(f"{API}/feedback?mine=true", headers=bob.headers), 200)
    assert [(i["status"], i["public_response"]) for i in bobs["items"]] == [
        ("planned", "In the next release.")
    ]
    await mailbox.deliver()
    told_bob = [text_of(m) for m in mailbox.to(bob.email)]
    assert len(told_bob) == 3  # received, acknowledged (on the merge), planned
    assert any("has been acknowledged" in t for t in told_bob)
    assert any("is now planned" in t and "next release" in t for t in told_bob)
    assert "is now planned" in text_of(mailbox.to(alice.email)[-1])
    assert mailbox.to(carol.email) == []  # voters are counted, not subscribed

    listed = expect(
        await client.get(f"{API}/feedback?primary_id={primary['id']}", headers=agent.headers), 200
    )
    assert [item["id"] for item in listed["items"]] == [copy["id"]]


async def test_linking_flattens_chains_and_refuses_cycles(
    client: AsyncClient, actors: Actors
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    a, b, c = [await file_feedback(client, customer, body=f"Idea {n}") for n in range(3)]

    async def link(record: JSON, primary_id: int | None) -> Any:
        return await client.patch(
            f"{API}/feedback/{record['id']}", json={"primary_id": primary_id}, headers=agent.headers
        )

    expect(await link(b, a["id"]), 200)
    assert expect(await link(c, b["id"]), 200)["primary_id"] == a["id"]  # a, not b
    assert_problem(await link(a, b["id"]), 409)
    assert_problem(await link(a, a["id"]), 422)
    assert_problem(await link(a, 999_999), 422)
    assert expect(await link(c, None), 200)["primary_id"] is None
    assert (await _read(client, agent, a["id"]))["duplicates"] == 1

    # Merging a primary moves its duplicates along with it.
    expect(await link(a, c["id"]), 200)
    assert (await _read(client, agent, b["id"]))["primary_id"] == c["id"]
    assert (await _read(client, agent, c["id"]))["duplicates"] == 2
