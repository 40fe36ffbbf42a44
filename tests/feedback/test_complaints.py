"""Complaints are urgent: they raise their ticket's urgency, or get a ticket of their own."""

from __future__ import annotations

from httpx import AsyncClient

from tests.factories import Actors, assert_problem
from tests.feedback.helpers import (
    API,
    Maker,
    assign,
    events_of,
    expect,
    file_feedback,
    file_ticket,
    move,
)


async def test_a_complaint_on_an_open_ticket_raises_its_urgency_by_one_step(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    filed_ticket = await file_ticket(client, customer, urgency="low", impact="high")
    # Priority is the desk's assessment: staff read it (the customer sees null).
    ticket = expect(
        await client.get(f"{API}/tickets/{filed_ticket['id']}", headers=agent.headers), 200
    )
    assert ticket["priority"] == "medium"

    filed = await file_feedback(
        client, customer, kind="complaint", body="Still waiting!", ticket_id=ticket["id"]
    )
    assert filed["ticket_id"] == ticket["id"]
    raised = expect(await client.get(f"{API}/tickets/{ticket['id']}", headers=agent.headers), 200)
    assert (raised["urgency"], raised["priority"]) == ("medium", "high")
    assert raised["sla"]["resolution_due_at"] < ticket["sla"]["resolution_due_at"]

    [received] = await events_of(sessionmaker, ticket["id"], "feedback.received")
    assert received.data["urgency"] == {"from": "low", "to": "medium"}
    [priority] = await events_of(sessionmaker, ticket["id"], "ticket.priority_changed")
    assert priority.data == {"from": "medium", "to": "high"}

    await file_feedback(client, customer, kind="complaint", body="Hello?", ticket_id=ticket["id"])
    await file_feedback(client, customer, kind="complaint", body="!!!", ticket_id=ticket["id"])
    top = expect(await client.get(f"{API}/tickets/{ticket['id']}", headers=agent.headers), 200)
    assert (top["urgency"], top["priority"]) == ("high", "critical")
    assert len(await events_of(sessionmaker, ticket["id"], "ticket.priority_changed")) == 2


async def test_a_complaint_without_a_ticket_gets_one_of_its_own_with_an_sla(
    client: AsyncClient, actors: Actors
) -> None:
    customer = await actors.customer()
    filed = await file_feedback(
        client, customer, kind="complaint", body="You charged me twice.\nFix it please."
    )
    assert filed["ticket_id"] is not None

    ticket = expect(
        await client.get(f"{API}/tickets/{filed['ticket_id']}", headers=customer.headers), 200
    )
    assert (ticket["priority"], ticket["tags"]) == (None, None)  # the desk's, not theirs
    ticket = expect(
        await client.get(
            f"{API}/tickets/{filed['ticket_id']}", headers=(await actors.agent()).headers
        ),
        200,
    )
    assert ticket["subject"] == "Complaint: You charged me twice."
    assert ticket["requester"]["id"] == customer.id
    assert (ticket["urgency"], ticket["priority"]) == ("high", "high")
    assert ticket["sla"]["first_response_due_at"] is not None
    assert "complaint" in ticket["tags"]


async def test_a_complaint_taken_by_an_agent_is_owned_by_them(
    client: AsyncClient, actors: Actors
) -> None:
    agent, customer = await actors.agent(), await actors.customer()
    filed = await file_feedback(
        client,
        agent,
        kind="complaint",
        body="Rude courier.",
        customer_id=customer.id,
        channel="phone",
    )
    ticket = expect(
        await client.get(f"{API}/tickets/{filed['ticket_id']}", headers=agent.headers), 200
    )
    assert ticket["owner"]["id"] == agent.id
    assert ticket["channel"] == "phone"
    assert ticket["requester"]["id"] == customer.id


async def test_a_complaint_on_a_resolved_ticket_reopens_it(
    client: AsyncClient, actors: Actors
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await file_ticket(client, customer)
    await assign(client, agent, ticket["id"], agent.id)
    await move(client, agent, ticket["id"], "resolved")

    await file_feedback(
        client, customer, kind="complaint", body="Not fixed.", ticket_id=ticket["id"]
    )
    after = expect(await client.get(f"{API}/tickets/{ticket['id']}", headers=customer.headers), 200)
    assert (after["status"], after["urgency"]) == ("open", "high")


async def test_a_complaint_on_a_closed_ticket_opens_a_new_one_for_the_same_owner(
    client: AsyncClient, actors: Actors
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await file_ticket(client, customer)
    await assign(client, agent, ticket["id"], agent.id)
    await move(client, agent, ticket["id"], "resolved")
    await move(client, agent, ticket["id"], "closed")

    filed = await file_feedback(
        client, customer, kind="complaint", body="Broken again.", ticket_id=ticket["id"]
    )
    assert filed["ticket_id"] != ticket["id"]
    staff = expect(await client.get(f"{API}/feedback/{filed['id']}", headers=agent.headers), 200)
    assert staff["origin_ticket_id"] == ticket["id"]
    new = expect(
        await client.get(f"{API}/tickets/{filed['ticket_id']}", headers=agent.headers), 200
    )
    assert new["owner"]["id"] == agent.id
    assert f"#{ticket['id']}" in new["description"]


async def test_an_integration_complaint_needs_a_customer_to_file_a_ticket_for(
    client: AsyncClient, actors: Actors
) -> None:
    integration = await actors.integration()
    response = await client.post(
        f"{API}/feedback",
        json={"kind": "complaint", "body": "Late delivery."},
        headers=integration.headers,
    )
    assert_problem(response, 422)
    filed = await file_feedback(
        client,
        integration,
        kind="complaint",
        body="Late delivery.",
        customer={"email": "late@customers.example"},
    )
    ticket = expect(
        await client.get(f"{API}/tickets/{filed['ticket_id']}", headers=integration.headers), 200
    )
    assert ticket["requester"]["email"] == "late@customers.example"


async def test_reclassifying_as_a_complaint_makes_it_urgent(
    client: AsyncClient, actors: Actors
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await file_ticket(client, customer)
    filed = await file_feedback(client, customer, kind="suggestion", ticket_id=ticket["id"])
    expect(
        await client.patch(
            f"{API}/feedback/{filed['id']}", json={"kind": "complaint"}, headers=agent.headers
        ),
        200,
    )
    raised = expect(await client.get(f"{API}/tickets/{ticket['id']}", headers=agent.headers), 200)
    assert raised["urgency"] == "high"
