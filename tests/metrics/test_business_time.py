"""Durations count business time on the calendar of the ticket's SLA policy: a reply
over a weekend on a Mon-Fri 9-17 Berlin calendar is two business hours, on a 24/7
calendar the whole weekend; the policy in force when a duration ends decides."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from httpx import AsyncClient
from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.metrics import facts as folding
from app.metrics.backfill import rebuild_all
from app.metrics.business_time import BusinessTime
from app.models import MetricRollup, MetricRollupDelta, MetricTicketFacts, TicketEvent
from app.sla.calendar import ALWAYS_OPEN, CalendarSpec, OpeningHours, compile_calendar
from tests.factories import Actor, Actors
from tests.metrics.helpers import API, assert_figures_match_recount, ok

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
OFFICE = [{"weekday": day, "opens": "09:00", "closes": "17:00"} for day in WEEKDAYS[:5]]
# Friday 27 November 2026, 16:00 in Berlin (UTC+1); Monday 30 November, 10:00 and 11:00.
FRIDAY_4PM = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
MONDAY_10AM = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
MONDAY_11AM = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
WINDOW = {"from": "2026-11-27", "to": "2026-12-01"}


async def _post(client: AsyncClient, actor: Actor, path: str, body: dict[str, Any]) -> Any:
    return ok(await client.post(f"{API}{path}", json=body, headers=actor.headers), 201)


async def _policies(client: AsyncClient, admin: Actor, office_hours: list[Any]) -> tuple[int, int]:
    """Billing under a policy on `office_hours` in Berlin, tech on one around the clock."""
    office = await _post(
        client,
        admin,
        "/calendars",
        {"name": "Berlin office", "time_zone": "Europe/Berlin", "hours": office_hours},
    )
    always = await _post(
        client, admin, "/calendars", {"name": "Always", "time_zone": "UTC", "always_open": True}
    )
    ids = []
    for name, calendar, category, position in (
        ("Office hours", office["id"], "billing", 10),
        ("Around the clock", always["id"], "tech", 20),
    ):
        policy = await _post(
            client,
            admin,
            "/sla-policies",
            {
                "name": name,
                "calendar_id": calendar,
                "position": position,
                "conditions": {"categories": [category]},
                "targets": {"medium": {"first_response_minutes": 6000}},
            },
        )
        ids.append(int(policy["id"]))
    return ids[0], ids[1]


async def _file(client: AsyncClient, customer: Actor, category: str) -> dict[str, Any]:
    body = {"subject": "Invoice wrong", "description": "Twice charged.", "category": category}
    return ok(await client.post(f"{API}/tickets", json=body, headers=customer.headers), 201)


async def _reply(client: AsyncClient, actor: Actor, ticket: int) -> None:
    body = {"body": "On it.", "visibility": "public"}
    ok(await client.post(f"{API}/tickets/{ticket}/messages", json=body, headers=actor.headers), 201)


async def _resolve(client: AsyncClient, actor: Actor, ticket: int) -> None:
    body = {"status": "resolved"}
    ok(await client.post(f"{API}/tickets/{ticket}/status", json=body, headers=actor.headers))


def test_the_fold_counts_business_seconds_on_the_policys_calendar() -> None:
    office = compile_calendar(
        CalendarSpec(
            "Europe/Berlin",
            hours=tuple(OpeningHours(day, 9 * 60, 17 * 60) for day in range(5)),
        )
    )
    elapsed = BusinessTime({1: office, 2: ALWAYS_OPEN})
    figures = {}
    for policy in (1, 2, None, 3):  # 3: a policy since removed counts wall-clock time
        facts, _ = folding.file(7, FRIDAY_4PM, {"sla_policy_id": policy}, "new", ())
        reply = {"visibility": "public", "author_role": "agent"}
        [delta] = folding.apply(facts, "message.created", MONDAY_10AM, reply, 5, elapsed)
        figures[policy] = delta.times["frt"]
    assert figures == {1: 2 * 3600, 2: 66 * 3600, None: 66 * 3600, 3: 66 * 3600}


async def test_a_reply_over_the_weekend_counts_business_hours_on_the_office_calendar(
    client: AsyncClient, actors: Actors, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """The history is made through the API, then moved to a known weekend (the clock of
    the test run is whatever it is), and folded again from its timeline."""
    admin, supervisor = await actors.admin(), await actors.supervisor()
    customer = await actors.customer()
    office, around = await _policies(client, admin, OFFICE)
    billing = await _file(client, customer, "billing")
    tech = await _file(client, customer, "tech")
    for ticket, policy in ((billing, office), (tech, around)):
        url = f"{API}/tickets/{ticket['id']}"
        assert (
            ok(await client.get(url, headers=supervisor.headers))["sla"]["policy"]["id"] == policy
        )
    for ticket in (billing["id"], tech["id"]):
        await _reply(client, supervisor, ticket)
        await _resolve(client, supervisor, ticket)
    async with sessionmaker() as session, session.begin():
        created = await session.scalars(
            select(TicketEvent.data).where(TicketEvent.kind == "ticket.created")
        )
        assert sorted(d["sla_policy_id"] for d in created) == sorted([office, around])
        await session.execute(
            text(
                """
                UPDATE ticket_events SET created_at = CASE
                    WHEN kind = 'message.created' THEN CAST(:reply AS timestamptz)
                    WHEN kind = 'ticket.status_changed' AND data->>'to' = 'resolved'
                        THEN CAST(:resolved AS timestamptz)
                    ELSE CAST(:filed AS timestamptz) END
                """
            ),
            {"filed": FRIDAY_4PM, "reply": MONDAY_10AM, "resolved": MONDAY_11AM},
        )
        for table in (MetricTicketFacts, MetricRollup, MetricRollupDelta):
            await session.execute(delete(table))
    assert await rebuild_all(sessionmaker) == 2

    headers = supervisor.headers
    summary = f"{API}/metrics/summary"
    business = ok(
        await client.get(summary, params={**WINDOW, "category": "billing"}, headers=headers)
    )
    # Friday 16:00-17:00 and Monday 9:00-10:00 (11:00): the desk was open two (three) hours.
    assert business["kpis"]["first_response_time"]["mean"] == 2 * 3600
    assert business["kpis"]["time_to_resolve"]["mean"] == 3 * 3600
    wall = ok(await client.get(summary, params={**WINDOW, "category": "tech"}, headers=headers))
    assert wall["kpis"]["first_response_time"]["mean"] == 66 * 3600
    assert wall["kpis"]["time_to_resolve"]["mean"] == 67 * 3600
    await assert_figures_match_recount(client, headers, sessionmaker, **WINDOW)


async def test_the_policy_in_force_when_a_duration_ends_decides_its_calendar(
    client: AsyncClient, actors: Actors, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """Live, through the reaction: the office calendar here is open only on a weekday
    three days off, so no business time passes during the test; around the clock, the
    second the test waits does."""
    admin, supervisor = await actors.admin(), await actors.supervisor()
    customer = await actors.customer()
    closed_now = WEEKDAYS[(datetime.now(UTC).weekday() + 3) % 7]
    hours = [{"weekday": closed_now, "opens": "00:00", "closes": "24:00"}]
    office, around = await _policies(client, admin, hours)
    billing = (await _file(client, customer, "billing"))["id"]
    tech = (await _file(client, customer, "tech"))["id"]
    await asyncio.sleep(1.1)
    for ticket in (billing, tech):
        await _reply(client, supervisor, ticket)
    headers = supervisor.headers
    summary = f"{API}/metrics/summary"
    closed = ok(await client.get(summary, params={"category": "billing"}, headers=headers))
    assert closed["kpis"]["first_response_time"]["mean"] == 0
    wall = ok(await client.get(summary, params={"category": "tech"}, headers=headers))
    assert wall["kpis"]["first_response_time"]["mean"] >= 1

    # The tech ticket moves to billing, so to the office policy: said on its timeline.
    moved = await client.patch(
        f"{API}/tickets/{tech}", json={"category": "billing"}, headers=headers
    )
    assert moved.status_code == 200, moved.text
    async with sessionmaker() as session:
        changes = await session.scalars(
            select(TicketEvent.data["changes"]).where(
                TicketEvent.ticket_id == tech, TicketEvent.kind == "ticket.updated"
            )
        )
        assert {"sla_policy_id": {"from": around, "to": office}} in list(changes)
        facts = await session.get(MetricTicketFacts, tech)
        assert facts is not None
        assert facts.sla_policy_id == office
    body = {"body": "Still wrong.", "visibility": "public"}
    ok(
        await client.post(f"{API}/tickets/{tech}/messages", json=body, headers=customer.headers),
        201,
    )
    await asyncio.sleep(1.1)
    await _reply(client, supervisor, tech)
    kpis = await assert_figures_match_recount(client, headers, sessionmaker)
    # The customer's message waited a second of wall-clock time, none of the office's.
    assert kpis["next_response_time"]["mean"] == 0
    assert kpis["first_response_time"]["count"] == 2
    assert timedelta(seconds=kpis["first_response_time"]["mean"] * 2) >= timedelta(seconds=1)
