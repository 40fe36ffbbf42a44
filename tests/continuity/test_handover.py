"""Handover: when someone is away or gone, their open work moves, once, with its reason."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import update

from app.continuity import handover
from app.continuity.scheduler import ContinuityScheduler
from app.models import AssignmentMode, Role, Ticket
from tests.continuity.conftest import Mailbox
from tests.continuity.helpers import (
    API,
    Maker,
    assign,
    away,
    count_events,
    days_from_now,
    deliveries_to,
    file_ticket,
    get_ticket,
    move,
    notices_of_kind,
    open_work_of_unavailable,
    owner_changes,
    owner_id,
    set_active,
    timeline,
)
from tests.factories import Actor, Actors, make_team


async def _tickets_of(
    client: AsyncClient, actors: Actors, owner: Actor, statuses: list[str]
) -> list[int]:
    supervisor = await actors.supervisor()
    ids = []
    for status in statuses:
        ticket = await file_ticket(client, supervisor)
        await assign(client, supervisor, ticket["id"], owner.id)
        if status != "new":
            await move(client, supervisor, ticket["id"], "open")
        if status in ("pending", "resolved"):
            await move(client, supervisor, ticket["id"], status)
        ids.append(ticket["id"])
    return ids


async def test_a_vacation_hands_open_work_to_the_backup_and_leaves_resolved_work_alone(
    client: AsyncClient, actors: Actors, scheduler: ContinuityScheduler
) -> None:
    marco = await actors.make(Role.AGENT, name="Marco")
    anna = await actors.make(Role.AGENT, name="Anna")
    new, opened, pending, resolved = await _tickets_of(
        client, actors, marco, ["new", "open", "pending", "resolved"]
    )
    back = days_from_now(10)
    absence = await away(client, marco, marco.id, ends_at=back, backup_id=anna.id)

    outcome = await scheduler.run_once()

    assert outcome.moved == 3
    for ticket_id in (new, opened, pending):
        assert await owner_id(client, marco, ticket_id) == anna.id
        change = (await owner_changes(client, marco, ticket_id))[-1]
        assert change["data"]["reason"] == "unavailability"
        assert change["data"]["from"] == {"id": marco.id, "name": "Marco"}
        assert change["data"]["to"] == {"id": anna.id, "name": "Anna"}
        assert change["data"]["absence"]["reason"] == "vacation"
        assert change["data"]["absence"]["id"] == absence["id"]
        assert change["data"]["absence"]["until_day"] == back.date().isoformat()
        assert change["data"]["note"] is None
    assert await owner_id(client, marco, resolved) == marco.id
    statuses = [(await get_ticket(client, marco, t))["status"] for t in (new, opened, pending)]
    assert statuses == ["new", "open", "pending"]


async def test_without_a_backup_the_teams_routing_decides(
    client: AsyncClient, actors: Actors, sessionmaker: Maker, scheduler: ContinuityScheduler
) -> None:
    supervisor, marco, anna, luca = (
        await actors.supervisor(),
        await actors.agent(),
        await actors.agent(),
        await actors.agent(),
    )
    team = await make_team(
        sessionmaker, member_ids=[marco.id, anna.id, luca.id], assignment=AssignmentMode.ROUND_ROBIN
    )
    tickets = []
    for _ in range(4):
        ticket = await file_ticket(client, supervisor, team_id=team)
        await assign(client, supervisor, ticket["id"], marco.id)
        tickets.append(ticket["id"])
    await away(client, supervisor, marco.id, ends_at=days_from_now(3), reason="training")

    await scheduler.run_once()

    owners = [await owner_id(client, supervisor, t) for t in tickets]
    assert sorted(owners) == sorted([anna.id, luca.id, anna.id, luca.id])


async def test_a_backup_who_is_also_away_is_passed_over_for_the_team(
    client: AsyncClient, actors: Actors, sessionmaker: Maker, scheduler: ContinuityScheduler
) -> None:
    supervisor, marco, anna, luca = (
        await actors.supervisor(),
        await actors.agent(),
        await actors.agent(),
        await actors.agent(),
    )
    team = await make_team(
        sessionmaker,
        member_ids=[marco.id, anna.id, luca.id],
        assignment=AssignmentMode.LEAST_LOADED,
    )
    ticket = await file_ticket(client, supervisor, team_id=team)
    await assign(client, supervisor, ticket["id"], marco.id)
    await away(client, supervisor, anna.id, ends_at=days_from_now(5))
    await away(client, supervisor, marco.id, ends_at=days_from_now(5), backup_id=anna.id)

    await scheduler.run_once()

    assert await owner_id(client, supervisor, ticket["id"]) == luca.id


async def test_with_nobody_available_the_ticket_waits_in_the_queue_and_supervisors_hear(
    client: AsyncClient,
    actors: Actors,
    sessionmaker: Maker,
    scheduler: ContinuityScheduler,
    mailbox: Mailbox,
) -> None:
    lead, marco, anna = await actors.supervisor(), await actors.agent(), await actors.agent()
    team = await make_team(
        sessionmaker, member_ids=[lead.id, marco.id, anna.id], assignment=AssignmentMode.MANUAL
    )
    ticket = await file_ticket(client, lead, team_id=team)
    await assign(client, lead, ticket["id"], marco.id)
    await away(client, lead, marco.id, ends_at=days_from_now(2), backup_id=None)

    outcome = await scheduler.run_once()

    assert (outcome.moved, outcome.queued) == (1, 1)
    after = await get_ticket(client, lead, ticket["id"])
    assert after["owner"] is None
    assert after["team"]["id"] == team
    [alert] = notices_of_kind(await deliveries_to(sessionmaker, lead.id), "continuity.queue_alert")
    assert alert["data"]["tickets"] == [{"id": ticket["id"], "subject": ticket["subject"]}]
    assert alert["data"]["person"]["id"] == marco.id
    await mailbox.deliver()
    [told] = [t for t in mailbox.texts_to(lead.email) if "Please assign them" in t]
    assert f"Tickets of {marco.name} went to the" in told
    assert f"#{ticket['id']} {ticket['subject']}" in told


async def test_someone_who_left_is_gone_for_good(
    client: AsyncClient, actors: Actors, sessionmaker: Maker, scheduler: ContinuityScheduler
) -> None:
    admin, leaver, anna = await actors.admin(), await actors.agent(), await actors.agent()
    team = await make_team(
        sessionmaker, member_ids=[leaver.id, anna.id], assignment=AssignmentMode.ROUND_ROBIN
    )
    [ticket_id] = await _tickets_of(client, actors, leaver, ["open"])
    # A ticket without a team, as tickets filed before every one landed in a team were.
    async with sessionmaker() as session, session.begin():
        await session.execute(update(Ticket).where(Ticket.id == ticket_id).values(team_id=None))
    await set_active(client, admin, leaver.id, False)

    await scheduler.run_once()

    assert await owner_id(client, admin, ticket_id) == anna.id  # via the leaver's team
    change = (await owner_changes(client, admin, ticket_id))[-1]
    assert change["data"]["absence"] == {"reason": "departed", "until": None, "until_day": None}
    assert (await get_ticket(client, admin, ticket_id))["team"]["id"] == team
    await set_active(client, admin, leaver.id, True)
    assert (await scheduler.run_once()).handed_back == 0  # nothing comes back
    assert await owner_id(client, admin, ticket_id) == anna.id


async def test_running_twice_moves_nothing_twice(
    client: AsyncClient, actors: Actors, sessionmaker: Maker, scheduler: ContinuityScheduler
) -> None:
    marco, anna = await actors.agent(), await actors.agent()
    tickets = await _tickets_of(client, actors, marco, ["open"] * 9)
    await away(client, marco, marco.id, ends_at=days_from_now(4), backup_id=anna.id)

    first = await scheduler.run_once()
    events_after_first = await count_events(sessionmaker)
    second = await scheduler.run_once()

    assert (first.moved, second.moved) == (9, 0)
    assert await count_events(sessionmaker) == events_after_first
    for ticket_id in tickets:
        assert len(await owner_changes(client, marco, ticket_id)) == 2  # assigned, handed over


async def test_two_runs_at_once_still_move_each_ticket_once(
    client: AsyncClient, actors: Actors, sessionmaker: Maker, database_url: str
) -> None:
    marco, anna = await actors.agent(), await actors.agent()
    tickets = await _tickets_of(client, actors, marco, ["open"] * 12)
    await away(client, marco, marco.id, ends_at=days_from_now(4), backup_id=anna.id)
    one = ContinuityScheduler(sessionmaker, database_url, interval=60, batch_size=3, workers=3)
    two = ContinuityScheduler(sessionmaker, database_url, interval=60, batch_size=3, workers=3)

    outcomes = await asyncio.gather(one.run_once(), two.run_once())

    assert sum(o.moved for o in outcomes) == 12
    for ticket_id in tickets:
        assert len(await owner_changes(client, marco, ticket_id)) == 2


async def test_a_crash_midway_leaves_no_ticket_half_moved(
    client: AsyncClient,
    actors: Actors,
    sessionmaker: Maker,
    scheduler: ContinuityScheduler,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    marco, anna = await actors.agent(), await actors.agent()
    tickets = await _tickets_of(client, actors, marco, ["open"] * 6)
    await away(client, marco, marco.id, ends_at=days_from_now(4), backup_id=anna.id)
    real_change_owners = handover.change_owners
    calls = 0

    async def crash_after_the_second_batch_wrote(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        events = await real_change_owners(*args, **kwargs)
        if calls == 2:
            raise RuntimeError("power cut")  # its events and owners written, not committed
        return events

    monkeypatch.setattr(handover, "change_owners", crash_after_the_second_batch_wrote)
    with pytest.raises(RuntimeError):
        await scheduler.run_once()  # batches of 4: the first committed, the second not

    owners = [await owner_id(client, marco, t) for t in tickets]
    assert owners == [anna.id] * 4 + [marco.id] * 2
    for ticket_id, owner in zip(tickets, owners, strict=True):
        changes = await owner_changes(client, marco, ticket_id)
        assert changes[-1]["data"]["to"]["id"] == owner  # the event goes with the move
        assert len(changes) == (2 if owner == anna.id else 1)

    monkeypatch.setattr(handover, "change_owners", real_change_owners)
    assert (await scheduler.run_once()).moved == 2
    assert [await owner_id(client, marco, t) for t in tickets] == [anna.id] * 6


async def test_after_every_run_each_open_ticket_has_an_owner_who_is_here(
    client: AsyncClient, actors: Actors, sessionmaker: Maker, scheduler: ContinuityScheduler
) -> None:
    admin = await actors.admin()
    people = [await actors.agent() for _ in range(4)]
    team = await make_team(
        sessionmaker, member_ids=[p.id for p in people], assignment=AssignmentMode.LEAST_LOADED
    )
    for _ in range(12):
        await file_ticket(client, admin, team_id=team)
    await away(client, admin, people[0].id, ends_at=days_from_now(2), backup_id=people[1].id)
    await away(client, admin, people[1].id, ends_at=days_from_now(2))
    await set_active(client, admin, people[2].id, False)

    await scheduler.run_once()

    assert await open_work_of_unavailable(sessionmaker) == []
    listed = await client.get(
        f"{API}/tickets", params={"team_id": team, "limit": 200}, headers=admin.headers
    )
    assert {t["owner"]["id"] for t in listed.json()["items"]} == {people[3].id}


async def test_the_customer_timeline_says_who_and_until_when_but_not_why(
    client: AsyncClient, actors: Actors, scheduler: ContinuityScheduler
) -> None:
    customer, marco, anna = await actors.customer(), await actors.agent(), await actors.agent()
    ticket = await file_ticket(client, customer)
    await assign(client, marco, ticket["id"], marco.id)
    await away(
        client, marco, marco.id, reason="sick_leave", ends_at=days_from_now(3), backup_id=anna.id
    )

    await scheduler.run_once()

    change = [
        e
        for e in await timeline(client, customer, ticket["id"])
        if e["kind"] == "ticket.owner_changed"
    ][-1]
    # Until when, never why (app/events/audience.py): every reason but departure is "away".
    assert change["data"]["absence"] == {
        "reason": "away",
        "until_day": days_from_now(3).date().isoformat(),
    }
    assert "sick" not in str(change)
    seen = await get_ticket(client, customer, ticket["id"])
    assert seen["owner"]["name"] == anna.name
    assert seen["last_owner_change"]["reason"] == "unavailability"
    assert f"{marco.name} is away until" in seen["last_owner_change"]["summary"]
    assert "sick" not in str(seen)
