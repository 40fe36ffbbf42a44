"""What the customer and the supervisors hear: the answer time in the acknowledgement
(in the customer's time zone), the late-answer notice once, and a breach escalating
along the team's path as its policy asks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from httpx import AsyncClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import AssignmentMode, NotificationDelivery, Ticket
from app.notifications.render import render
from app.sla.watcher import raise_all
from tests.factories import Actor, Actors, make_team
from tests.tickets.helpers import events, file_ticket, get_ticket

API = "/api/v1"
RATIO = 0.8
Maker = async_sessionmaker[AsyncSession]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def _notices(sessionmaker: Maker, recipient_id: int, kind: str) -> list[dict[str, Any]]:
    async with sessionmaker() as session:
        deliveries = list(
            await session.scalars(
                select(NotificationDelivery).where(
                    NotificationDelivery.recipient_id == recipient_id
                )
            )
        )
    return [
        delivery.payload
        for delivery in deliveries
        if any(n.get("kind") == kind for n in delivery.payload.get("notices", []))
    ]


async def test_the_acknowledgement_states_the_answer_time_in_the_customers_zone(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    admin, customer = await actors.admin(), await actors.customer()
    response = await client.patch(
        f"{API}/users/{customer.id}", json={"timezone": "Asia/Tokyo"}, headers=admin.headers
    )
    assert response.status_code == 200, response.text

    ticket = await file_ticket(client, customer, channel="email")

    [payload] = await _notices(sessionmaker, customer.id, "ticket.created")
    text = render(payload, customer.name, "en", {}).as_text()
    # Independently: the first response due time, rounded up to the minute, in Tokyo.
    due = at(ticket["sla"]["first_response_due_at"])
    minute = due.replace(second=0, microsecond=0)
    local = (minute + timedelta(minutes=1) if due > minute else minute).astimezone(
        ZoneInfo("Asia/Tokyo")
    )
    now_local = datetime.now(UTC).astimezone(ZoneInfo("Asia/Tokyo"))
    day = "today" if local.date() == now_local.date() else "tomorrow"
    expected = (
        f"We are here around the clock: we will answer by {local.hour}:{local.minute:02d} "
        f"{day}, Tokyo time."
    )
    assert expected in " ".join(text.split())
    assert "as soon as possible" not in text


async def _escalating_policy(client: AsyncClient, admin: Actor) -> None:
    calendar = await client.post(
        f"{API}/calendars",
        json={"name": "Always", "time_zone": "UTC", "always_open": True},
        headers=admin.headers,
    )
    assert calendar.status_code == 201, calendar.text
    policy = await client.post(
        f"{API}/sla-policies",
        json={
            "name": "Outages",
            "calendar_id": calendar.json()["id"],
            "conditions": {"categories": ["outage"]},
            "targets": {"medium": {"first_response_minutes": 60, "resolution_minutes": 600}},
            "on_breach": ["escalate", "notify_supervisors"],
        },
        headers=admin.headers,
    )
    assert policy.status_code == 201, policy.text


async def _move_clock(sessionmaker: Maker, ticket_id: int, *, due_in: timedelta) -> None:
    """As if the ticket had been filed long enough ago that its first response is due
    in `due_in` (negative: missed), its warning 12 minutes before that."""
    due = datetime.now(UTC) + due_in
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(Ticket)
            .where(Ticket.id == ticket_id)
            .values(
                created_at=due - timedelta(hours=1),
                first_response_due_at=due,
                first_response_warn_at=due - timedelta(minutes=12),
            )
        )


async def test_a_breach_escalates_and_the_customer_is_told_once_before_it(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    admin, customer = await actors.admin(), await actors.customer()
    first_line, second_line = await actors.agent(), await actors.agent()
    supervisor = await actors.supervisor()
    level_one = await make_team(
        sessionmaker,
        member_ids=[first_line.id, supervisor.id],
        assignment=AssignmentMode.ROUND_ROBIN,
    )
    level_two = await make_team(
        sessionmaker, member_ids=[second_line.id], assignment=AssignmentMode.ROUND_ROBIN
    )
    response = await client.patch(
        f"{API}/teams/{level_one}/continuity",
        json={"escalation_team_id": level_two},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text
    await _escalating_policy(client, admin)
    ticket = await file_ticket(
        client, admin, for_customer=customer, team_id=level_one, category="outage"
    )
    assert ticket["owner"]["id"] == first_line.id
    assert ticket["sla"]["policy"]["name"] == "Outages"

    await _move_clock(sessionmaker, ticket["id"], due_in=timedelta(minutes=5))  # warning
    assert await raise_all(sessionmaker, RATIO) == 1
    assert await raise_all(sessionmaker, RATIO) == 0
    await _move_clock(sessionmaker, ticket["id"], due_in=timedelta(minutes=-1))  # missed
    assert await raise_all(sessionmaker, RATIO) == 1
    assert await raise_all(sessionmaker, RATIO) == 0

    escalated = await get_ticket(client, admin, ticket["id"])
    assert escalated["team"]["id"] == level_two
    assert escalated["owner"]["id"] == second_line.id
    timeline = await events(client, customer, ticket["id"])
    kinds = [e["kind"] for e in timeline]
    assert kinds.count("sla.delay_announced") == 1
    assert "sla.breached" not in kinds  # internal
    [moved] = [e for e in timeline if e["kind"] == "ticket.owner_changed"][-1:]
    assert moved["data"]["reason"] == "escalation"
    assert "note" not in moved["data"]  # the internal note stays internal

    # The customer: told once of the delay, with the new time, before it passed.
    [delay] = await _notices(sessionmaker, customer.id, "sla.delay_announced")
    text = " ".join(render(delay, customer.name, "en", {}).as_text().split())
    assert "We are sorry for the wait: we will now answer by" in text
    assert "breach" not in text.lower()
    # The supervisors of the team, as the policy asks.
    assert await _notices(sessionmaker, supervisor.id, "sla.breach_alert")


async def test_a_ticket_nobody_takes_alerts_the_team_supervisors_once(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    agent, supervisor = await actors.agent(), await actors.supervisor()
    team = await make_team(sessionmaker, member_ids=[agent.id, supervisor.id])  # manual
    ticket = await file_ticket(client, agent, team_id=team)
    assert ticket["owner"] is None
    soon = timedelta(minutes=30)

    await raise_all(sessionmaker, RATIO, soon)
    assert await _notices(sessionmaker, supervisor.id, "ticket.unowned_alert") == []

    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(Ticket)
            .where(Ticket.id == ticket["id"])
            .values(created_at=datetime.now(UTC) - timedelta(minutes=31))
        )
    await raise_all(sessionmaker, RATIO, soon)
    await raise_all(sessionmaker, RATIO, soon)

    [alert] = await _notices(sessionmaker, supervisor.id, "ticket.unowned_alert")
    assert "nobody has taken it" in render(alert, supervisor.name, "en", {}).as_text()
    assert await _notices(sessionmaker, agent.id, "ticket.unowned_alert") == []
