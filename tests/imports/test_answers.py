"""What customers said in the old helpdesk is stored as this desk stores it: a rating is
the answer to its resolution's survey, a complaint or suggestion a feedback record."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import NotificationDelivery, SatisfactionSurvey
from tests.factories import Actor, Actors, assert_problem, make_team
from tests.metrics.helpers import API, ok

WINDOW = {"from": "2026-09-01", "to": "2026-12-01"}
CUSTOMER = {"email": "bea@customers.example", "name": "Bea"}


def _ticket(external_id: str, team_id: int, steps: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "subject": "Parcel lost",
        "description": "Where is it?",
        "created_at": "2026-09-02T08:00:00Z",
        "requester": CUSTOMER,
        "category": "shipping",
        "team_id": team_id,
        "steps": steps,
    }


def _resolved_twice(agent: Actor, other: Actor) -> list[dict[str, Any]]:
    """Resolved by `agent` (rated 2, with a comment), reopened, handed to `other`,
    resolved again (never rated), then a complaint and a suggestion."""
    return [
        {"at": "2026-09-02T08:05:00Z", "type": "assign", "owner": agent.email},
        {"at": "2026-09-02T09:00:00Z", "type": "message", "by": agent.email, "body": "Found."},
        {"at": "2026-09-02T10:00:00Z", "type": "status", "status": "resolved", "by": agent.email},
        {"at": "2026-09-02T11:00:00Z", "type": "rating", "rating": 2, "body": "Took ages."},
        {"at": "2026-09-03T08:00:00Z", "type": "status", "status": "open"},
        {"at": "2026-09-03T08:10:00Z", "type": "assign", "owner": other.email},
        {"at": "2026-09-04T08:00:00Z", "type": "status", "status": "resolved", "by": other.email},
        {"at": "2026-09-05T08:00:00Z", "type": "complaint", "body": "Nobody called me back."},
        {"at": "2026-09-05T08:01:00Z", "type": "suggestion", "body": "Send tracking links."},
    ]


async def test_a_rating_is_the_answer_to_its_resolutions_survey(
    client: AsyncClient, actors: Actors, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    admin, agent, other = await actors.admin(), await actors.agent(), await actors.agent()
    team = await make_team(sessionmaker, member_ids=[agent.id, other.id])
    history = [_ticket("p-1", team, _resolved_twice(agent, other))]
    result = ok(
        await client.post(
            f"{API}/imports/tickets", json={"tickets": history}, headers=admin.headers
        )
    )
    ticket_id = result["tickets"][0]["ticket_id"]

    # The latest resolution's survey: sent, never answered, and closed for good.
    latest = ok(await client.get(f"{API}/tickets/{ticket_id}/satisfaction", headers=admin.headers))
    assert latest["resolution"] == 2
    assert latest["state"] == "expired"
    assert latest["rating"] is None
    assert latest["owner"]["id"] == other.id
    assert latest["sent_at"].startswith("2026-09-04T08:00:00")

    async with sessionmaker() as session:
        surveys = list(
            await session.scalars(
                select(SatisfactionSurvey)
                .where(SatisfactionSurvey.ticket_id == ticket_id)
                .order_by(SatisfactionSurvey.resolution)
            )
        )
        deliveries = await session.scalar(select(func.count()).select_from(NotificationDelivery))
    first = surveys[0]
    assert (first.rating, first.comment, first.answered_via) == (2, "Took ages.", "imported")
    assert first.answered_at is not None
    assert first.answered_at.isoformat().startswith("2026-09-02T11:00:00")
    assert (first.owner_id, first.team_id, first.resolved_by_id) == (agent.id, team, agent.id)
    assert deliveries == 0  # no survey email, no low-rating alert

    # The timeline's answer names its survey, like an answer given here.
    timeline = ok(await client.get(f"{API}/tickets/{ticket_id}/events", headers=admin.headers))
    [answer] = [
        e["data"]
        for e in timeline["items"]
        if e["kind"] == "feedback.received" and e["data"].get("source") == "survey"
    ]
    assert answer["survey_id"] == first.id
    assert (answer["resolution"], answer["low"], answer["team_id"]) == (1, True, team)

    # CSAT and its response rate count the same two surveys and the one answer.
    summary = ok(await client.get(f"{API}/metrics/summary", params=WINDOW, headers=admin.headers))
    assert summary["kpis"]["csat"] == {
        "answered": 1,
        "positive": 0,
        "rate": 0.0,
        "surveys_sent": 2,
        "response_rate": 0.5,
    }


async def test_complaints_and_suggestions_are_feedback_records(
    client: AsyncClient, actors: Actors, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    admin, agent, other = await actors.admin(), await actors.agent(), await actors.agent()
    team = await make_team(sessionmaker, member_ids=[agent.id, other.id])
    history = [_ticket("p-2", team, _resolved_twice(agent, other))]
    result = ok(
        await client.post(
            f"{API}/imports/tickets", json={"tickets": history}, headers=admin.headers
        )
    )
    ticket_id = result["tickets"][0]["ticket_id"]
    page = ok(
        await client.get(f"{API}/feedback", params={"ticket_id": ticket_id}, headers=admin.headers)
    )
    records = sorted(page["items"], key=lambda r: r["created_at"])
    assert [(r["kind"], r["status"], r["body"]) for r in records] == [
        ("complaint", "acknowledged", "Nobody called me back."),
        ("suggestion", "acknowledged", "Send tracking links."),
    ]
    assert all(r["customer"]["email"] == CUSTOMER["email"] for r in records)
    assert all(r["category"] == "shipping" for r in records)
    assert records[0]["created_at"].startswith("2026-09-05T08:00:00")
    found = ok(
        await client.get(f"{API}/feedback", params={"q": "tracking links"}, headers=admin.headers)
    )
    assert [r["id"] for r in found["items"]] == [records[1]["id"]]

    timeline = ok(await client.get(f"{API}/tickets/{ticket_id}/events", headers=admin.headers))
    linked = [
        e["data"]["feedback_id"]
        for e in timeline["items"]
        if e["kind"] == "feedback.received" and e["data"].get("source") == "feedback"
    ]
    assert linked == [r["id"] for r in records]
    summary = ok(await client.get(f"{API}/metrics/summary", params=WINDOW, headers=admin.headers))
    assert (summary["kpis"]["complaints"], summary["kpis"]["suggestions"]) == (1, 1)
    assert summary["complaints_by_category"] == {"shipping": 1}


async def test_a_rating_needs_a_surveyed_resolution_and_answers_it_once(
    client: AsyncClient, actors: Actors, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    admin, agent = await actors.admin(), await actors.agent()
    team = await make_team(sessionmaker, member_ids=[agent.id])
    resolved = {"type": "status", "status": "resolved", "by": agent.email}
    rating = {"type": "rating", "rating": 5}
    cases = [
        [{**rating, "at": "2026-09-02T09:00:00Z"}],  # nothing resolved yet
        [  # resolved by nobody: no survey was sent
            {**resolved, "by": None, "at": "2026-09-02T09:00:00Z"},
            {**rating, "at": "2026-09-02T10:00:00Z"},
        ],
        [  # two answers to one survey
            {**resolved, "at": "2026-09-02T09:00:00Z"},
            {**rating, "at": "2026-09-02T10:00:00Z"},
            {**rating, "at": "2026-09-02T11:00:00Z"},
        ],
        [{"type": "complaint", "at": "2026-09-02T09:00:00Z"}],  # said nothing
    ]
    for n, steps in enumerate(cases):
        response = await client.post(
            f"{API}/imports/tickets",
            json={"tickets": [_ticket(f"bad-{n}", team, steps)]},
            headers=admin.headers,
        )
        assert_problem(response, 422)
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(SatisfactionSurvey)) == 0
