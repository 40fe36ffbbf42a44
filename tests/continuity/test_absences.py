"""Absences through the API: who may record them, what is refused, and availability."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from httpx import AsyncClient

from app.models import Role
from tests.continuity.helpers import API, away, days_from_now, iso, set_active
from tests.factories import Actors, assert_problem


async def test_an_agent_records_their_own_vacation_and_reads_it_back(
    client: AsyncClient, actors: Actors
) -> None:
    agent, backup = await actors.agent(), await actors.agent()
    body = {
        "starts_at": iso(days_from_now(7)),
        "ends_at": iso(days_from_now(14)),
        "reason": "vacation",
        "backup_id": backup.id,
    }

    created = await client.post(
        f"{API}/users/{agent.id}/absences", json=body, headers=agent.headers
    )

    assert created.status_code == 201, created.text
    absence = created.json()
    assert created.headers["Location"] == f"/api/v1/users/{agent.id}/absences/{absence['id']}"
    assert (absence["reason"], absence["backup_id"], absence["state"]) == (
        "vacation",
        backup.id,
        "upcoming",
    )
    listed = await client.get(f"{API}/users/{agent.id}/absences", headers=agent.headers)
    assert [a["id"] for a in listed.json()["items"]] == [absence["id"]]


async def test_an_open_ended_absence_is_allowed(client: AsyncClient, actors: Actors) -> None:
    supervisor, agent = await actors.supervisor(), await actors.agent()

    absence = await away(client, supervisor, agent.id, reason="parental_leave")

    assert absence["ends_at"] is None
    assert absence["state"] == "current"


async def test_agents_manage_only_their_own_supervisors_anyones(
    client: AsyncClient, actors: Actors
) -> None:
    agent, colleague, supervisor = (
        await actors.agent(),
        await actors.agent(),
        await actors.supervisor(),
    )
    body = {"starts_at": iso(days_from_now(1)), "reason": "training"}

    assert_problem(
        await client.post(f"{API}/users/{colleague.id}/absences", json=body, headers=agent.headers),
        403,
    )
    theirs = await client.post(
        f"{API}/users/{colleague.id}/absences", json=body, headers=supervisor.headers
    )
    assert theirs.status_code == 201, theirs.text
    assert_problem(
        await client.get(f"{API}/users/{colleague.id}/absences", headers=agent.headers), 403
    )


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.INTEGRATION])
async def test_requesters_have_nothing_to_do_with_absences(
    client: AsyncClient, actors: Actors, role: Role
) -> None:
    caller, agent = await actors.make(role), await actors.agent()
    body = {"starts_at": iso(days_from_now(1)), "reason": "other"}

    response = await client.post(
        f"{API}/users/{agent.id}/absences", json=body, headers=caller.headers
    )

    assert_problem(response, 403)


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"ends_at": "starts"}, 422),  # ends at its start
        ({"reason": "bored"}, 422),
        ({"starts_at": "2026-01-01T09:00:00"}, 422),  # no time zone
        ({"backup_id": "self"}, 422),
        ({"ends_at": "past"}, 422),
    ],
)
async def test_bad_absences_are_refused(
    client: AsyncClient, actors: Actors, fields: dict[str, str], status: int
) -> None:
    agent = await actors.agent()
    starts = days_from_now(2)
    body: dict[str, object] = {"starts_at": iso(starts), "reason": "vacation"}
    body.update(fields)
    if fields.get("ends_at") == "starts":
        body["ends_at"] = iso(starts)
    if fields.get("ends_at") == "past":
        body["starts_at"], body["ends_at"] = iso(days_from_now(-3)), iso(days_from_now(-1))
    if fields.get("backup_id") == "self":
        body["backup_id"] = agent.id

    response = await client.post(
        f"{API}/users/{agent.id}/absences", json=body, headers=agent.headers
    )

    assert_problem(response, status)


async def test_overlapping_absences_are_a_conflict(client: AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()
    first = await away(
        client, agent, agent.id, starts_at=days_from_now(1), ends_at=days_from_now(5)
    )
    body = {
        "starts_at": iso(days_from_now(4)),
        "ends_at": iso(days_from_now(8)),
        "reason": "sick_leave",
    }

    response = await client.post(
        f"{API}/users/{agent.id}/absences", json=body, headers=agent.headers
    )

    assert assert_problem(response, 409)["overlapping_absence_id"] == first["id"]


async def test_a_customer_cannot_be_a_backup(client: AsyncClient, actors: Actors) -> None:
    agent, customer = await actors.agent(), await actors.customer()
    body = {"starts_at": iso(days_from_now(1)), "reason": "vacation", "backup_id": customer.id}

    response = await client.post(
        f"{API}/users/{agent.id}/absences", json=body, headers=agent.headers
    )

    assert_problem(response, 422)


async def test_a_future_absence_can_be_cancelled_a_started_one_only_ended(
    client: AsyncClient, actors: Actors
) -> None:
    agent = await actors.agent()
    upcoming = await away(
        client, agent, agent.id, starts_at=days_from_now(3), ends_at=days_from_now(4)
    )
    current = await away(client, agent, agent.id, ends_at=days_from_now(1))
    url = f"{API}/users/{agent.id}/absences"

    assert (
        await client.delete(f"{url}/{upcoming['id']}", headers=agent.headers)
    ).status_code == 204
    assert_problem(await client.delete(f"{url}/{current['id']}", headers=agent.headers), 409)
    ended = await client.patch(
        f"{url}/{current['id']}", json={"ends_at": iso(datetime.now(UTC))}, headers=agent.headers
    )
    assert ended.status_code == 200, ended.text
    assert ended.json()["state"] == "over"


async def test_a_started_absence_keeps_its_start(client: AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()
    current = await away(client, agent, agent.id, ends_at=days_from_now(2))

    response = await client.patch(
        f"{API}/users/{agent.id}/absences/{current['id']}",
        json={"starts_at": iso(datetime.now(UTC) + timedelta(hours=1))},
        headers=agent.headers,
    )

    assert_problem(response, 409)


async def test_available_lists_who_can_take_tickets_now(
    client: AsyncClient, actors: Actors
) -> None:
    admin = await actors.admin()
    here, on_leave, leaver = await actors.agent(), await actors.agent(), await actors.supervisor()
    later = await actors.agent()
    customer = await actors.customer()
    await away(client, admin, on_leave.id, ends_at=days_from_now(3))
    await away(client, admin, later.id, starts_at=days_from_now(1), ends_at=days_from_now(3))
    await set_active(client, admin, leaver.id, False)

    available = await client.get(
        f"{API}/users", params={"available": "true"}, headers=admin.headers
    )
    unavailable = await client.get(
        f"{API}/users", params={"available": "false"}, headers=admin.headers
    )

    assert [u["id"] for u in available.json()["items"]] == [here.id, later.id]
    assert [u["id"] for u in unavailable.json()["items"]] == [on_leave.id, leaver.id]
    flags = {
        user_id: (await client.get(f"{API}/users/{user_id}", headers=admin.headers)).json()[
            "available"
        ]
        for user_id in (here.id, on_leave.id, leaver.id, customer.id, admin.id)
    }
    assert flags == {
        here.id: True,
        on_leave.id: False,
        leaver.id: False,
        customer.id: None,
        admin.id: None,
    }
