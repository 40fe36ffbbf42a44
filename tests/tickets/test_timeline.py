"""The timeline: one event per change, with its actor and visibility; who sees which;
and last_action, the newest event the caller may see."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient

from app.events.audience import public_data
from tests.factories import Actor, Actors
from tests.tickets.helpers import (
    JSON,
    Maker,
    assign,
    bring_to,
    count_events,
    events,
    file_ticket,
    get_ticket,
    list_tickets,
    move,
    move_ok,
    patch,
    reply,
    ticket_url,
)


def actor_of(actor: Actor) -> JSON:
    return {"id": actor.id, "name": actor.name, "role": actor.role.value}


def kinds(timeline: list[JSON]) -> list[str]:
    return [event["kind"] for event in timeline]


async def newest(client: AsyncClient, viewer: Actor, ticket_id: int) -> JSON:
    return (await events(client, viewer, ticket_id))[-1]


# What each change writes


async def test_filing_writes_a_public_ticket_created_event(
    client: AsyncClient, actors: Actors
) -> None:
    customer = await actors.customer()
    ticket = await file_ticket(client, customer, urgency="high", category="network")

    [event] = await events(client, await actors.agent(), ticket["id"])
    [customer_event] = await events(client, customer, ticket["id"])
    # The desk's assessment is for staff (app/events/audience.py).
    assert not {"priority", "impact"} & set(customer_event["data"])
    assert customer_event["data"]["urgency"] == "high"

    assert event["kind"] == "ticket.created"
    assert event["visibility"] == "public"
    assert event["ticket_id"] == ticket["id"]
    assert event["actor"] == actor_of(customer)
    assert event["data"]["subject"] == ticket["subject"]
    assert event["data"]["priority"] == "high"
    assert event["data"]["category"] == "network"
    assert event["data"]["requester"] == {"id": customer.id, "name": customer.name}
    assert set(event) >= {"id", "ticket_id", "kind", "visibility", "actor", "data", "created_at"}


async def test_an_edit_writes_an_internal_ticket_updated_event_with_from_and_to(
    client: AsyncClient, actors: Actors
) -> None:
    agent = await actors.agent()
    ticket = await file_ticket(client, agent, subject="Old", category="a", tags=["x"])

    await patch(client, agent, ticket["id"], subject="New", category="a", tags=["x", "y"])

    event = await newest(client, agent, ticket["id"])
    assert event["kind"] == "ticket.updated"
    assert event["visibility"] == "internal"
    assert event["actor"] == actor_of(agent)
    # Only what really changed: category was sent unchanged.
    assert event["data"]["changes"] == {
        "subject": {"from": "Old", "to": "New"},
        "tags": {"from": ["x"], "to": ["x", "y"]},
    }


async def test_changing_urgency_also_writes_a_priority_changed_event(
    client: AsyncClient, actors: Actors
) -> None:
    agent = await actors.agent()
    ticket = await file_ticket(client, agent)

    await patch(client, agent, ticket["id"], urgency="low")

    updated, priority = (await events(client, agent, ticket["id"]))[-2:]
    assert updated["kind"] == "ticket.updated"
    assert updated["data"]["changes"] == {"urgency": {"from": "medium", "to": "low"}}
    assert priority["kind"] == "ticket.priority_changed"
    assert priority["data"] == {"from": "medium", "to": "low"}
    assert priority["actor"] == actor_of(agent)


async def test_a_change_that_keeps_the_priority_writes_no_priority_event(
    client: AsyncClient, actors: Actors
) -> None:
    agent = await actors.agent()
    ticket = await file_ticket(client, agent, urgency="high", impact="low")  # medium

    await patch(client, agent, ticket["id"], urgency="low", impact="high")  # still medium

    assert kinds(await events(client, agent, ticket["id"])) == [
        "ticket.created",
        "ticket.updated",
    ]


async def test_a_status_move_writes_a_public_status_changed_event_with_its_note(
    client: AsyncClient, actors: Actors
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await file_ticket(client, customer)
    await bring_to(client, agent, ticket["id"], "open")

    response = await move(client, agent, ticket["id"], "pending", note="Which laptop model?")
    assert response.status_code == 200, response.text

    event = await newest(client, customer, ticket["id"])
    assert event["kind"] == "ticket.status_changed"
    assert event["visibility"] == "public"
    assert event["actor"] == actor_of(agent)
    assert event["data"] == {"from": "open", "to": "pending", "note": "Which laptop model?"}


async def test_an_assignment_writes_a_public_owner_changed_event(
    client: AsyncClient, actors: Actors
) -> None:
    supervisor, agent = await actors.supervisor(), await actors.agent()
    ticket = await file_ticket(client, supervisor)

    await assign(client, supervisor, ticket["id"], agent.id, reason="routing", note="VPN expert")

    event = await newest(client, supervisor, ticket["id"])
    assert event["kind"] == "ticket.owner_changed"
    assert event["visibility"] == "public"
    assert event["actor"] == actor_of(supervisor)
    assert event["data"] == {
        "from": None,
        "to": {"id": agent.id, "name": agent.name},
        "reason": "routing",
        "note": "VPN expert",
    }


async def test_a_handover_names_both_owners_and_a_return_to_the_queue_names_none(
    client: AsyncClient, actors: Actors
) -> None:
    supervisor, first, second = (
        await actors.supervisor(),
        await actors.agent(),
        await actors.agent(),
    )
    ticket = await file_ticket(client, supervisor)
    await assign(client, supervisor, ticket["id"], first.id)

    await assign(client, supervisor, ticket["id"], second.id, reason="unavailability")
    await assign(client, supervisor, ticket["id"], None, reason="rebalancing")

    handover, unassigned = (await events(client, supervisor, ticket["id"]))[-2:]
    assert handover["data"]["from"] == {"id": first.id, "name": first.name}
    assert handover["data"]["to"] == {"id": second.id, "name": second.name}
    assert handover["data"]["reason"] == "unavailability"
    assert handover["data"]["note"] is None
    assert unassigned["data"]["from"] == {"id": second.id, "name": second.name}
    assert unassigned["data"]["to"] is None
    assert unassigned["data"]["reason"] == "rebalancing"


async def test_a_message_writes_a_message_created_event_with_its_visibility(
    client: AsyncClient, actors: Actors
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await file_ticket(client, customer)

    public = await reply(client, customer, ticket["id"], "More detail.")
    note = await reply(client, agent, ticket["id"], "Check the logs.", "internal")

    created = [
        e for e in await events(client, agent, ticket["id"]) if e["kind"] == "message.created"
    ]
    assert [e["visibility"] for e in created] == ["public", "internal"]
    assert created[0]["actor"] == actor_of(customer)
    assert created[0]["data"] == {
        "message_id": public["id"],
        "visibility": "public",
        "author_role": "customer",
        "channel": "web",
    }
    assert created[1]["actor"] == actor_of(agent)
    assert created[1]["data"] == {
        "message_id": note["id"],
        "visibility": "internal",
        "author_role": "agent",
        "channel": "web",
    }


async def test_the_status_move_a_reply_causes_is_recorded_with_the_replier_as_actor(
    client: AsyncClient, actors: Actors
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await file_ticket(client, customer)

    await reply(client, agent, ticket["id"], "On it.")

    message, status = (await events(client, customer, ticket["id"]))[-2:]
    assert message["kind"] == "message.created"
    assert status["kind"] == "ticket.status_changed"
    assert status["actor"] == actor_of(agent)
    assert status["data"] == {"from": "new", "to": "open"}  # no note: the key is left out


async def test_each_change_appends_exactly_its_events(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await file_ticket(client, customer)
    ticket_id = ticket["id"]
    assert await count_events(sessionmaker, ticket_id) == 1

    steps: list[tuple[Any, int]] = [
        (lambda: patch(client, agent, ticket_id, subject="Edited"), 1),
        (lambda: assign(client, agent, ticket_id, agent.id), 1),
        (lambda: move(client, agent, ticket_id, "open"), 1),
        (lambda: reply(client, agent, ticket_id, "note", "internal"), 1),
        (lambda: reply(client, agent, ticket_id, "reply"), 1),  # already open: no move
        (lambda: move(client, agent, ticket_id, "pending"), 2),  # + the clock's sla.paused
        # message + sla.resumed + back to open
        (lambda: reply(client, customer, ticket_id, "back"), 3),
        (lambda: patch(client, agent, ticket_id, impact="high"), 2),  # update + priority
    ]
    for step, appended in steps:
        before = await count_events(sessionmaker, ticket_id)
        await step()
        assert await count_events(sessionmaker, ticket_id) == before + appended


async def test_the_timeline_is_oldest_first_and_tracks_the_version(
    client: AsyncClient, actors: Actors
) -> None:
    agent = await actors.agent()
    ticket = await file_ticket(client, agent)
    await patch(client, agent, ticket["id"], subject="Two")
    await move_ok(client, agent, ticket["id"], "open")
    await assign(client, agent, ticket["id"], agent.id)

    timeline = await events(client, agent, ticket["id"])

    assert [e["id"] for e in timeline] == sorted(e["id"] for e in timeline)
    assert [e["ticket_version"] for e in timeline] == [1, 2, 3, 4]
    assert kinds(timeline) == [
        "ticket.created",
        "ticket.updated",
        "ticket.status_changed",
        "ticket.owner_changed",
    ]
    assert (
        timeline[-1]["ticket_version"] == (await get_ticket(client, agent, ticket["id"]))["version"]
    )


async def test_the_timeline_pages_with_a_cursor(client: AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()
    ticket = await file_ticket(client, agent)
    for n in range(4):
        await reply(client, agent, ticket["id"], f"note {n}", "internal")
    everything = await events(client, agent, ticket["id"])

    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (
            await client.get(
                ticket_url(ticket["id"], "/events"), params=params, headers=agent.headers
            )
        ).json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == [e["id"] for e in everything]
    assert len(seen) == 5


# Who sees what


async def test_a_customer_sees_only_the_public_events(client: AsyncClient, actors: Actors) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await file_ticket(client, customer)
    await patch(client, agent, ticket["id"], subject="Edited", urgency="high")
    await reply(client, agent, ticket["id"], "Secret note", "internal")
    await assign(client, agent, ticket["id"], agent.id)
    await reply(client, agent, ticket["id"], "Public reply")

    staff_view = await events(client, agent, ticket["id"])
    customer_view = await events(client, customer, ticket["id"])

    assert {e["visibility"] for e in staff_view} == {"public", "internal"}
    assert customer_view == [
        {**e, "data": public_data(e["kind"], e["data"]), "ticket_version": None}
        for e in staff_view
        if e["visibility"] == "public"
    ]
    created, owner_changed = customer_view[0]["data"], customer_view[1]["data"]
    assert not {"impact", "priority", "team_id"} & set(created)
    assert "note" not in owner_changed
    assert kinds(customer_view) == [
        "ticket.created",
        "ticket.owner_changed",
        "message.created",
        "ticket.status_changed",
    ]


async def test_a_customer_never_sees_the_note_on_a_handover(
    client: AsyncClient, actors: Actors
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await file_ticket(client, customer)

    await assign(client, agent, ticket["id"], agent.id, reason="escalation", note="Angry; VIP")

    staff_event = await newest(client, agent, ticket["id"])
    customer_event = await newest(client, customer, ticket["id"])
    assert staff_event["data"]["note"] == "Angry; VIP"
    assert "note" not in customer_event["data"]
    assert "Angry" not in str(customer_event)
    assert customer_event["data"]["reason"] == "escalation"


async def test_an_integration_sees_the_public_events_of_its_tickets_without_notes(
    client: AsyncClient, actors: Actors
) -> None:
    integration, agent = await actors.integration(), await actors.agent()
    ticket = await file_ticket(client, integration)
    await reply(client, agent, ticket["id"], "Secret note", "internal")
    await assign(client, agent, ticket["id"], agent.id, note="Internal remark")

    timeline = await events(client, integration, ticket["id"])

    assert {e["visibility"] for e in timeline} == {"public"}
    assert kinds(timeline) == ["ticket.created", "ticket.owner_changed"]
    assert "note" not in timeline[-1]["data"]


# last_action


async def test_last_action_is_the_newest_event_for_staff(
    client: AsyncClient, actors: Actors
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await file_ticket(client, customer)

    await reply(client, agent, ticket["id"], "Secret note", "internal")

    seen = await get_ticket(client, agent, ticket["id"])
    event = await newest(client, agent, ticket["id"])
    assert seen["last_action"]["kind"] == "message.created"
    assert seen["last_action"]["at"] == event["created_at"]
    assert agent.name in seen["last_action"]["summary"]
    assert "Secret" not in seen["last_action"]["summary"]


async def test_last_action_for_a_customer_skips_what_they_may_not_see(
    client: AsyncClient, actors: Actors
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await file_ticket(client, customer)
    await move_ok(client, agent, ticket["id"], "open")
    public = await newest(client, customer, ticket["id"])

    await reply(client, agent, ticket["id"], "Secret note", "internal")
    await patch(client, agent, ticket["id"], subject="Renamed by staff")

    seen = await get_ticket(client, customer, ticket["id"])
    assert seen["last_action"]["kind"] == "ticket.status_changed"
    assert seen["last_action"]["at"] == public["created_at"]
    assert seen["last_action"]["summary"] == "Status changed from new to open"


async def test_last_action_in_a_list_follows_the_same_rule(
    client: AsyncClient, actors: Actors
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await file_ticket(client, customer)
    await reply(client, agent, ticket["id"], "Secret note", "internal")

    [as_customer] = (await list_tickets(client, customer))["items"]
    [as_agent] = (await list_tickets(client, agent))["items"]

    assert as_customer["last_action"]["kind"] == "ticket.created"
    assert as_agent["last_action"]["kind"] == "message.created"
    assert as_agent["last_action"] == (await get_ticket(client, agent, ticket["id"]))["last_action"]
