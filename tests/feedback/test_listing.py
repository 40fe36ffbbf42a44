"""Triage lists: filters, full-text search and cursor pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from httpx import AsyncClient
from sqlalchemy import update

from app.models import Feedback
from tests.factories import Actors, assert_problem
from tests.feedback.helpers import API, Maker, expect, feedback_step, file_feedback


async def test_staff_filter_by_kind_status_category_tag_and_channel(
    client: AsyncClient, actors: Actors
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    idea = await file_feedback(client, customer, kind="suggestion", category="portal", tags=["ui"])
    praise = await file_feedback(client, customer, kind="praise", category="support")
    request = await file_feedback(
        client, agent, kind="improvement_request", customer_id=customer.id, channel="chat"
    )
    expect(await feedback_step(client, agent, idea["id"], "acknowledged"), 200)

    async def ids(query: str) -> list[int]:
        page = expect(await client.get(f"{API}/feedback?{query}", headers=agent.headers), 200)
        return [item["id"] for item in page["items"]]

    assert await ids("") == [request["id"], praise["id"], idea["id"]]
    assert await ids("kind=suggestion&kind=praise") == [praise["id"], idea["id"]]
    assert await ids("status=acknowledged") == [idea["id"]]
    assert await ids("category=support") == [praise["id"]]
    assert await ids("tag=UI") == [idea["id"]]
    assert await ids("channel=chat") == [request["id"]]
    assert await ids(f"customer_id={customer.id}&kind=improvement_request") == [request["id"]]
    assert await ids("mine=true") == [request["id"]]
    assert await ids("duplicate=true") == []


async def test_staff_filter_by_date(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    old = await file_feedback(client, customer, body="Old idea")
    new = await file_feedback(client, customer, body="New idea")
    last_month = datetime.now(UTC) - timedelta(days=30)
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(Feedback).where(Feedback.id == old["id"]).values(created_at=last_month)
        )
    since = quote((datetime.now(UTC) - timedelta(days=1)).isoformat())

    recent = expect(
        await client.get(f"{API}/feedback?created_since={since}", headers=agent.headers), 200
    )
    assert [item["id"] for item in recent["items"]] == [new["id"]]
    before = expect(
        await client.get(f"{API}/feedback?created_before={since}", headers=agent.headers), 200
    )
    assert [item["id"] for item in before["items"]] == [old["id"]]
    naive = await client.get(
        f"{API}/feedback?created_since=2026-01-01T00:00:00", headers=agent.headers
    )
    assert_problem(naive, 422)


async def test_full_text_search_over_the_words_category_tags_and_response(
    client: AsyncClient, actors: Actors
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    invoices = await file_feedback(client, customer, body="The invoices are hard to download.")
    mobile = await file_feedback(client, customer, body="Make the app faster", tags=["mobile"])
    other = await file_feedback(client, customer, body="Nice people on the phone", kind="praise")
    expect(
        await feedback_step(client, agent, other["id"], "acknowledged", "Forwarded to Giulia."),
        200,
    )

    async def found(q: str) -> set[int]:
        page = expect(await client.get(f"{API}/feedback?q={quote(q)}", headers=agent.headers), 200)
        return {item["id"] for item in page["items"]}

    assert await found("invoices") == {invoices["id"]}
    assert await found("mobile") == {mobile["id"]}
    assert await found("giulia") == {other["id"]}
    assert await found("download OR faster") == {invoices["id"], mobile["id"]}
    assert await found("nothing-like-this") == set()
    mine = expect(await client.get(f"{API}/feedback?q=invoices", headers=customer.headers), 200)
    assert [item["id"] for item in mine["items"]] == [invoices["id"]]


async def test_cursor_pages_walk_every_record_once(client: AsyncClient, actors: Actors) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    filed = [await file_feedback(client, customer, body=f"Idea {n}") for n in range(7)]

    seen: list[int] = []
    cursor = None
    while True:
        url = f"{API}/feedback?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = expect(await client.get(url, headers=agent.headers), 200)
        seen += [item["id"] for item in page["items"]]
        # A record filed while paging never shifts the pages already read.
        if cursor is None:
            await file_feedback(client, customer, body="Late idea")
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f["id"] for f in reversed(filed)]
    assert_problem(await client.get(f"{API}/feedback?cursor=garbage", headers=agent.headers), 400)
    assert_problem(await client.get(f"{API}/feedback?limit=0", headers=agent.headers), 422)
    assert_problem(await client.get(f"{API}/feedback?limit=201", headers=agent.headers), 422)
