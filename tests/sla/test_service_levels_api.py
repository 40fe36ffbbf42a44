"""Service levels through the API: calendars and policies (admin), due times in
business time checked against the naive calendar, the pause while pending, the next
response, and no ticket without a team."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from httpx import AsyncClient

from tests.factories import Actor, Actors, assert_problem
from tests.sla.naive_calendar import NaiveCalendar
from tests.tickets.helpers import events, file_ticket, get_ticket, move_ok, patch, reply

API = "/api/v1"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Zones far enough apart that in one of them it is daytime whenever the test runs.
ZONES = ("Europe/Rome", "America/New_York", "Asia/Tokyo", "America/Los_Angeles", "Asia/Kolkata")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def _post(client: AsyncClient, actor: Actor, path: str, body: dict[str, Any]) -> Any:
    response = await client.post(f"{API}{path}", json=body, headers=actor.headers)
    assert response.status_code == 201, response.text
    return response.json()


def _daytime_zone(now: datetime) -> ZoneInfo:
    for name in ZONES:
        if 6 <= now.astimezone(ZoneInfo(name)).hour < 20:
            return ZoneInfo(name)
    raise AssertionError("no zone in daytime")  # the zones cover every hour


def _calendar_around_now(now: datetime) -> tuple[dict[str, Any], NaiveCalendar, datetime]:
    """Opening hours that start in a few minutes and last an hour, every day; tomorrow
    (local) a holiday. Returns the body, the same calendar for the naive computation,
    and the opening time."""
    zone = _daytime_zone(now)
    local = now.astimezone(zone).replace(second=0, microsecond=0) + timedelta(minutes=5)
    opens = local.hour * 60 + local.minute
    closes = opens + 60
    hhmm = f"{opens // 60:02d}:{opens % 60:02d}"
    close_hhmm = f"{closes // 60:02d}:{closes % 60:02d}"
    tomorrow = local.date() + timedelta(days=1)
    body = {
        "name": f"Desk {zone.key}",
        "time_zone": zone.key,
        "hours": [{"weekday": day, "opens": hhmm, "closes": close_hhmm} for day in WEEKDAYS],
        "holidays": [{"date": tomorrow.isoformat(), "name": "A holiday"}],
    }
    naive = NaiveCalendar(
        zone=zone,
        hours={day: [(opens, closes)] for day in range(7)},
        holidays=frozenset({tomorrow}),
    )
    return body, naive, local.astimezone(UTC)


async def _policy(
    client: AsyncClient, admin: Actor, calendar_id: int, **targets: int
) -> dict[str, Any]:
    return await _post(
        client,
        admin,
        "/sla-policies",
        {
            "name": "Business hours",
            "calendar_id": calendar_id,
            "conditions": {"categories": ["billing"]},
            "targets": {"medium": targets, "high": {"first_response_minutes": 30}},
            "on_breach": ["notify_supervisors"],
        },
    )


# -- administration ---------------------------------------------------------------------


async def test_calendars_are_validated_versioned_and_guarded(
    client: AsyncClient, actors: Actors
) -> None:
    admin, agent = await actors.admin(), await actors.agent()
    bad_zone = {"name": "X", "time_zone": "Mars/Olympus", "always_open": True}
    response = await client.post(f"{API}/calendars", json=bad_zone, headers=admin.headers)
    assert_problem(response, 422)
    overlapping = {
        "name": "X",
        "time_zone": "Europe/Rome",
        "hours": [
            {"weekday": "mon", "opens": "09:00", "closes": "13:00"},
            {"weekday": "mon", "opens": "12:00", "closes": "18:00"},
        ],
    }
    response = await client.post(f"{API}/calendars", json=overlapping, headers=admin.headers)
    assert_problem(response, 422)
    body = {"name": "Always", "time_zone": "UTC", "always_open": True}
    response = await client.post(f"{API}/calendars", json=body, headers=agent.headers)
    assert_problem(response, 403)

    calendar = await _post(client, admin, "/calendars", body)
    read = await client.get(f"{API}/calendars/{calendar['id']}", headers=agent.headers)
    assert read.json() == calendar
    assert read.headers["ETag"] == '"1"'

    replaced = {**body, "name": "Around the clock, Rome", "time_zone": "Europe/Rome"}
    url = f"{API}/calendars/{calendar['id']}"
    ok = await client.put(url, json=replaced, headers={**admin.headers, "If-Match": '"1"'})
    assert ok.status_code == 200, ok.text
    assert (ok.json()["version"], ok.json()["time_zone"]) == (2, "Europe/Rome")
    stale = await client.put(url, json=body, headers={**admin.headers, "If-Match": '"1"'})
    assert_problem(stale, 412)
    assert (await client.get(url, headers=admin.headers)).json()["name"] == replaced["name"]

    await _policy(client, admin, calendar["id"], first_response_minutes=60)
    assert_problem(await client.delete(url, headers=admin.headers), 409)


async def test_policies_are_validated_and_one_is_the_default(
    client: AsyncClient, actors: Actors
) -> None:
    admin = await actors.admin()
    calendar = await _post(
        client, admin, "/calendars", {"name": "C", "time_zone": "UTC", "always_open": True}
    )
    unknown_calendar = await client.post(
        f"{API}/sla-policies",
        json={"name": "P", "calendar_id": 999, "is_default": True, "targets": {"low": {}}},
        headers=admin.headers,
    )
    assert_problem(unknown_calendar, 422)
    missing_calendar = await client.post(
        f"{API}/sla-policies",
        json={
            "name": "P",
            "calendar_id": 999,
            "is_default": True,
            "targets": {"low": {"resolution_minutes": 60}},
        },
        headers=admin.headers,
    )
    assert_problem(missing_calendar, 422)
    default = {
        "name": "Default",
        "calendar_id": calendar["id"],
        "is_default": True,
        "targets": {"low": {"resolution_minutes": 60}},
    }
    first = await _post(client, admin, "/sla-policies", default)
    second = await client.post(
        f"{API}/sla-policies", json={**default, "name": "Another"}, headers=admin.headers
    )
    assert_problem(second, 409)
    url = f"{API}/sla-policies/{first['id']}"
    assert_problem(await client.delete(url, headers=admin.headers), 409)
    listed = await client.get(f"{API}/sla-policies", headers=admin.headers)
    assert [p["id"] for p in listed.json()["items"]] == [first["id"]]


# -- clocks ---------------------------------------------------------------------------


async def test_due_times_count_business_hours_across_a_holiday(
    client: AsyncClient, actors: Actors
) -> None:
    admin, agent = await actors.admin(), await actors.agent()
    body, naive, _ = _calendar_around_now(datetime.now(UTC))
    calendar = await _post(client, admin, "/calendars", body)
    policy = await _policy(
        client, admin, calendar["id"], first_response_minutes=90, resolution_minutes=150
    )

    ticket = await file_ticket(client, agent, category="Billing")

    assert ticket["sla"]["policy"] == {"id": policy["id"], "name": "Business hours"}
    filed = at(ticket["created_at"]).replace(second=0, microsecond=0)
    opening = naive.next_opening(filed)
    # 60 minutes today, tomorrow a holiday, the other 30 the day after.
    assert at(ticket["sla"]["first_response_due_at"]) == naive.add_minutes(opening, 90)
    assert at(ticket["sla"]["resolution_due_at"]) == naive.add_minutes(opening, 150)
    assert at(ticket["sla"]["first_response_due_at"]) - opening > timedelta(days=2)

    # A higher priority: the policy's high targets, counted again from creation.
    changed = await patch(client, agent, ticket["id"], urgency="high")
    assert changed.status_code == 200, changed.text
    retargeted = await get_ticket(client, agent, ticket["id"])
    assert retargeted["priority"] == "high"
    assert at(retargeted["sla"]["first_response_due_at"]) == naive.add_minutes(opening, 30)
    assert retargeted["sla"]["resolution_due_at"] is None  # the policy sets none for high


async def test_a_ticket_no_policy_matches_falls_under_the_default(
    client: AsyncClient, actors: Actors
) -> None:
    admin, agent = await actors.admin(), await actors.agent()
    body, _, _ = _calendar_around_now(datetime.now(UTC))
    calendar = await _post(client, admin, "/calendars", body)
    await _policy(client, admin, calendar["id"], first_response_minutes=90)

    ticket = await file_ticket(client, agent, category="hardware")

    # The default policy (seeded) or, with none left, the same targets around the clock.
    created = at(ticket["created_at"])
    assert at(ticket["sla"]["first_response_due_at"]) == created + timedelta(hours=4)
    assert at(ticket["sla"]["resolution_due_at"]) == created + timedelta(hours=24)


async def test_the_clock_pauses_while_pending_and_resumes_on_the_customers_reply(
    client: AsyncClient, actors: Actors
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await file_ticket(client, agent, for_customer=customer)
    due_before = at(ticket["sla"]["resolution_due_at"])
    await move_ok(client, agent, ticket["id"], "open")

    await move_ok(client, agent, ticket["id"], "pending")
    paused = await get_ticket(client, agent, ticket["id"])
    assert paused["sla"]["paused"] is True
    await asyncio.sleep(1.2)
    assert (await get_ticket(client, agent, ticket["id"]))["sla"] == paused["sla"]  # frozen

    await reply(client, customer, ticket["id"], "Here is the log you asked for.")

    resumed = await get_ticket(client, agent, ticket["id"])
    assert resumed["status"] == "open"
    assert resumed["sla"]["paused"] is False
    timeline = await events(client, agent, ticket["id"])
    kinds = [e["kind"] for e in timeline]
    assert kinds.count("sla.paused") == 1
    assert kinds.count("sla.resumed") == 1
    pause = next(e for e in timeline if e["kind"] == "sla.paused")
    resume = next(e for e in timeline if e["kind"] == "sla.resumed")
    assert (pause["visibility"], resume["visibility"]) == ("internal", "internal")
    stood_still = at(resume["created_at"]) - at(pause["created_at"])
    assert stood_still >= timedelta(seconds=1.2)
    assert at(resumed["sla"]["resolution_due_at"]) - due_before == stood_still
    # The default policy sets no next response target.
    assert resumed["sla"]["next_response_due_at"] is None
    customer_view = [e["kind"] for e in await events(client, customer, ticket["id"])]
    assert "sla.paused" not in customer_view
    assert "sla.resumed" not in customer_view


async def test_each_customer_message_arms_the_next_response_and_a_reply_answers_it(
    client: AsyncClient, actors: Actors
) -> None:
    admin, customer, agent = await actors.admin(), await actors.customer(), await actors.agent()
    calendar = await _post(
        client, admin, "/calendars", {"name": "24/7", "time_zone": "UTC", "always_open": True}
    )
    await _post(
        client,
        admin,
        "/sla-policies",
        {
            "name": "Chat",
            "calendar_id": calendar["id"],
            "conditions": {"channels": ["chat"]},
            "targets": {"medium": {"first_response_minutes": 5, "next_response_minutes": 20}},
        },
    )
    ticket = await file_ticket(client, agent, for_customer=customer, channel="chat")
    assert ticket["sla"]["next_response_due_at"] is None
    await reply(client, agent, ticket["id"], "Hello!")

    await reply(client, customer, ticket["id"], "Still broken.")
    waiting = await get_ticket(client, agent, ticket["id"])
    message = [
        e for e in await events(client, agent, ticket["id"]) if e["kind"] == "message.created"
    ]
    written = at(message[-1]["created_at"])
    assert at(waiting["sla"]["next_response_due_at"]) == written + timedelta(minutes=20)
    await reply(client, customer, ticket["id"], "Hello?")  # the first one still waits
    still = await get_ticket(client, agent, ticket["id"])
    assert still["sla"]["next_response_due_at"] == waiting["sla"]["next_response_due_at"]

    await reply(client, agent, ticket["id"], "On it.")
    assert (await get_ticket(client, agent, ticket["id"]))["sla"]["next_response_due_at"] is None


# -- no ticket without a team -------------------------------------------------------------


async def _catch_all_team(client: AsyncClient, admin: Actor, member: Actor) -> int:
    """The catch-all team, with `member` in it (made first if the database has none)."""
    teams = (await client.get(f"{API}/teams", headers=admin.headers)).json()["items"]
    general = next((t for t in teams if t["name"] == "General"), None)
    body = {"name": "General", "member_ids": [member.id], "assignment": "round_robin"}
    if general is None:
        return int((await _post(client, admin, "/teams", body))["id"])
    response = await client.patch(
        f"{API}/teams/{general['id']}",
        json={"member_ids": [member.id], "assignment": "round_robin"},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text
    return int(general["id"])


async def test_tickets_of_a_category_no_rule_knows_each_end_with_an_owner(
    client: AsyncClient, actors: Actors
) -> None:
    admin, agent = await actors.admin(), await actors.agent()
    team_id = await _catch_all_team(client, admin, agent)

    filed = [await file_ticket(client, admin, category=f"unheard-of {n}") for n in range(3)]

    for ticket in filed:
        assert ticket["team"] == {"id": team_id, "name": "General"}
        assert ticket["owner"] == {"id": agent.id, "name": agent.name}


async def test_without_a_catch_all_team_one_is_made(client: AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()
    teams = (await client.get(f"{API}/teams", headers=agent.headers)).json()["items"]
    for team in teams:  # a fresh install's General team, if this test runs first
        assert team["name"] == "General"

    ticket = await file_ticket(client, agent)

    assert ticket["team"]["name"] == "General"
    again = await file_ticket(client, agent)
    assert again["team"] == ticket["team"]


DST_ZONES = ("Europe/Rome", "America/New_York", "America/Los_Angeles", "Australia/Sydney")


async def test_a_long_target_across_weekends_a_holiday_and_a_clock_change(
    client: AsyncClient, actors: Actors
) -> None:
    """Weekdays only, an hour a day from a few minutes from now, a holiday tomorrow: a
    resolution target of 120 open hours ends about half a year ahead, past a clock
    change, exactly where the naive minute-by-minute calendar says."""
    admin, agent = await actors.admin(), await actors.agent()
    now = datetime.now(UTC)
    zone = next(
        ZoneInfo(name) for name in DST_ZONES if 6 <= now.astimezone(ZoneInfo(name)).hour < 20
    )
    local = now.astimezone(zone).replace(second=0, microsecond=0) + timedelta(minutes=5)
    opens = local.hour * 60 + local.minute
    hours = (f"{opens // 60:02d}:{opens % 60:02d}", f"{(opens + 60) // 60:02d}:{opens % 60:02d}")
    tomorrow = local.date() + timedelta(days=1)
    calendar = await _post(
        client,
        admin,
        "/calendars",
        {
            "name": "Weekdays",
            "time_zone": zone.key,
            "hours": [{"weekday": d, "opens": hours[0], "closes": hours[1]} for d in WEEKDAYS[:5]],
            "holidays": [{"date": tomorrow.isoformat()}],
        },
    )
    await _policy(
        client, admin, calendar["id"], first_response_minutes=90, resolution_minutes=120 * 60
    )
    naive = NaiveCalendar(
        zone=zone,
        hours={d: [(opens, opens + 60)] for d in range(5)},
        holidays=frozenset({tomorrow}),
    )

    ticket = await file_ticket(client, agent, category="billing")

    opening = naive.next_opening(at(ticket["created_at"]).replace(second=0, microsecond=0))
    resolution = at(ticket["sla"]["resolution_due_at"])
    assert resolution == naive.add_minutes(opening, 120 * 60)
    assert at(ticket["sla"]["first_response_due_at"]) == naive.add_minutes(opening, 90)
    # Half a year of weekdays: the zone's offset is not the same at both ends.
    assert resolution.astimezone(zone).utcoffset() != opening.astimezone(zone).utcoffset()
