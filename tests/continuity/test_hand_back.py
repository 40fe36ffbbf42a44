"""Hand-back: after a short absence, what is still open goes back to its owner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from httpx import AsyncClient

from app.continuity.scheduler import ContinuityScheduler
from app.models import AssignmentMode
from tests.continuity.helpers import (
    API,
    Maker,
    assign,
    away,
    days_from_now,
    end_absence,
    file_ticket,
    get_ticket,
    move,
    owner_changes,
    owner_id,
    team_settings,
)
from tests.factories import Actors, make_team


async def test_back_from_vacation_the_open_tickets_return_and_resolved_ones_stay_resolved(
    client: AsyncClient, actors: Actors, scheduler: ContinuityScheduler
) -> None:
    supervisor, marco, anna = await actors.supervisor(), await actors.agent(), await actors.agent()
    still_open, solved_by_anna = [(await file_ticket(client, supervisor))["id"] for _ in range(2)]
    for ticket_id in (still_open, solved_by_anna):
        await assign(client, supervisor, ticket_id, marco.id)
    absence = await away(client, marco, marco.id, ends_at=days_from_now(5), backup_id=anna.id)
    await scheduler.run_once()
    await move(client, anna, solved_by_anna, "resolved")

    settled = await end_absence(client, marco, marco.id, absence["id"])
    outcome = await scheduler.run_once()

    assert settled["state"] == "over"
    assert outcome.handed_back == 1
    assert await owner_id(client, marco, still_open) == marco.id
    back = (await owner_changes(client, marco, still_open))[-1]
    assert (back["data"]["reason"], back["data"]["from"]["id"]) == ("hand_back", anna.id)
    solved = await get_ticket(client, marco, solved_by_anna)
    assert (solved["status"], solved["owner"]["id"]) == ("resolved", anna.id)
    listed = await client.get(f"{API}/users/{marco.id}/absences", headers=marco.headers)
    assert listed.json()["items"][0]["returned_at"] is not None
    assert (await scheduler.run_once()).handed_back == 0  # once settled, settled


async def test_a_ticket_escalated_meanwhile_is_not_pulled_back(
    client: AsyncClient, actors: Actors, scheduler: ContinuityScheduler
) -> None:
    supervisor, marco, anna, expert = (
        await actors.supervisor(),
        await actors.agent(),
        await actors.agent(),
        await actors.agent(),
    )
    ticket = await file_ticket(client, supervisor)
    await assign(client, supervisor, ticket["id"], marco.id)
    absence = await away(client, marco, marco.id, ends_at=days_from_now(5), backup_id=anna.id)
    await scheduler.run_once()
    await client.post(
        f"{API}/tickets/{ticket['id']}/escalate",
        json={"owner_id": expert.id, "note": "Needs the database people"},
        headers=anna.headers,
    )

    await end_absence(client, marco, marco.id, absence["id"])
    await scheduler.run_once()

    assert await owner_id(client, marco, ticket["id"]) == expert.id


async def test_long_absences_do_not_hand_back(
    client: AsyncClient, actors: Actors, scheduler: ContinuityScheduler
) -> None:
    supervisor, marco, anna = await actors.supervisor(), await actors.agent(), await actors.agent()
    ticket = await file_ticket(client, supervisor)
    await assign(client, supervisor, ticket["id"], marco.id)
    # Away since three weeks ago, the handover done then; back now.
    started = datetime.now(UTC) - timedelta(days=21)
    absence = await away(
        client, supervisor, marco.id, starts_at=started, ends_at=days_from_now(1), backup_id=anna.id
    )
    await scheduler.run_once()

    await end_absence(client, supervisor, marco.id, absence["id"])
    await scheduler.run_once()

    assert await owner_id(client, marco, ticket["id"]) == anna.id


async def test_a_team_can_turn_hand_back_off(
    client: AsyncClient, actors: Actors, sessionmaker: Maker, scheduler: ContinuityScheduler
) -> None:
    supervisor, marco, anna = await actors.supervisor(), await actors.agent(), await actors.agent()
    team = await make_team(
        sessionmaker, member_ids=[marco.id, anna.id], assignment=AssignmentMode.ROUND_ROBIN
    )
    settings = await team_settings(client, supervisor, team, hand_back=False)
    assert settings["hand_back"] is False
    ticket = await file_ticket(client, supervisor, team_id=team)
    await assign(client, supervisor, ticket["id"], marco.id)
    absence = await away(client, marco, marco.id, ends_at=days_from_now(2))
    await scheduler.run_once()

    await end_absence(client, marco, marco.id, absence["id"])
    await scheduler.run_once()

    assert await owner_id(client, marco, ticket["id"]) == anna.id


async def test_tickets_that_waited_in_the_queue_come_back_too(
    client: AsyncClient, actors: Actors, scheduler: ContinuityScheduler
) -> None:
    supervisor, marco = await actors.supervisor(), await actors.agent()
    ticket = await file_ticket(client, supervisor)
    await assign(client, supervisor, ticket["id"], marco.id)
    absence = await away(client, marco, marco.id, ends_at=days_from_now(2))
    await scheduler.run_once()
    assert await owner_id(client, marco, ticket["id"]) is None

    await end_absence(client, marco, marco.id, absence["id"])
    await scheduler.run_once()

    assert await owner_id(client, marco, ticket["id"]) == marco.id
