"""Phone: calls logged on tickets, and the CTI screen pop on the agent's WebSocket."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from tests.channels.helpers import API, expect
from tests.factories import Actor, Actors, assert_problem
from tests.live.conftest import LiveServer, live_client, serve

CALLER = "+442071838750"


async def _ticket(client: AsyncClient, customer: Actor) -> dict[str, Any]:
    return expect(
        await client.post(
            f"{API}/tickets",
            json={"subject": "Line is dead", "description": "No dial tone."},
            headers=customer.headers,
        ),
        201,
    )


def _call(**extra: Any) -> dict[str, Any]:
    return {
        "direction": "outbound",
        "from": "+15005550006",
        "to": CALLER,
        "duration_seconds": 312,
        "outcome": "answered",
        "recording_url": "https://recordings.example.com/r/1.mp3",
        "note": "Customer was upset about the bill too.",
        **extra,
    }


async def test_an_answered_call_is_contact_and_the_customer_sees_it_without_the_recording(
    client: AsyncClient, actors: Actors
) -> None:
    agent, customer = await actors.agent(), await actors.customer()
    ticket = await _ticket(client, customer)
    logged = expect(
        await client.post(
            f"{API}/tickets/{ticket['id']}/calls", json=_call(), headers=agent.headers
        ),
        201,
    )
    assert logged["counts_as_contact"] is True
    assert logged["from"] == "+15005550006"
    after = expect(await client.get(f"{API}/tickets/{ticket['id']}", headers=agent.headers), 200)
    assert after["status"] == "open"
    assert after["first_response_at"] is not None

    def call_event(actor: Actor) -> Any:
        return client.get(f"{API}/tickets/{ticket['id']}/events?limit=100", headers=actor.headers)

    [staff_view] = [
        e for e in expect(await call_event(agent), 200)["items"] if e["kind"] == "call.logged"
    ]
    assert staff_view["data"]["recording_url"] == "https://recordings.example.com/r/1.mp3"
    [customer_view] = [
        e for e in expect(await call_event(customer), 200)["items"] if e["kind"] == "call.logged"
    ]
    assert customer_view["data"]["duration_seconds"] == 312
    assert "recording_url" not in customer_view["data"]
    assert "note" not in customer_view["data"]


async def test_a_missed_call_is_logged_but_is_no_contact(
    client: AsyncClient, actors: Actors
) -> None:
    agent, customer = await actors.agent(), await actors.customer()
    ticket = await _ticket(client, customer)
    logged = expect(
        await client.post(
            f"{API}/tickets/{ticket['id']}/calls",
            json=_call(outcome="missed", duration_seconds=0),
            headers=agent.headers,
        ),
        201,
    )
    assert logged["counts_as_contact"] is False
    after = expect(await client.get(f"{API}/tickets/{ticket['id']}", headers=agent.headers), 200)
    assert after["status"] == "new"
    assert after["first_response_at"] is None


async def test_customers_cannot_log_calls_nor_probe_others_tickets(
    client: AsyncClient, actors: Actors
) -> None:
    mine, other = await actors.customer(), await actors.customer()
    ticket = await _ticket(client, mine)
    url = f"{API}/tickets/{ticket['id']}/calls"
    assert_problem(await client.post(url, json=_call(), headers=other.headers), 404)
    assert_problem(await client.post(url, json=_call(), headers=mine.headers), 403)
    assert_problem(
        await client.post(f"{API}/tickets/999999/calls", json=_call(), headers=mine.headers), 404
    )
    assert_problem(
        await client.post(
            f"{API}/inbound/calls", json={"call_id": "c", "from": CALLER}, headers=mine.headers
        ),
        403,
    )


async def test_a_call_pops_the_callers_open_tickets_on_the_answering_agents_screen(
    other_app: FastAPI, live_server: LiveServer, client: AsyncClient, actors: Actors
) -> None:
    cti, agent, other_agent = await actors.integration(), await actors.agent(), await actors.agent()
    admin = await actors.admin()
    customer = await actors.customer()
    expect(
        await client.post(
            f"{API}/users/{customer.id}/identities",
            json={"kind": "phone", "value": CALLER},
            headers=admin.headers,
        ),
        201,
    )
    ticket = await _ticket(client, customer)
    # The agent is connected to another instance than the one the CTI calls.
    async with (
        serve(other_app) as elsewhere,
        live_client(elsewhere, agent.token) as answering,
        live_client(live_server, other_agent.token) as bystander,
    ):
        popped = expect(
            await client.post(
                f"{API}/inbound/calls",
                json={"call_id": "call-1", "from": CALLER, "agent_id": agent.id},
                headers=cti.headers,
            ),
            200,
        )
        frame = await answering.receive_type("screen_pop")
        with pytest.raises(TimeoutError):
            await bystander.receive_type("screen_pop", within=0.5)
    assert popped["caller"]["id"] == customer.id
    assert [t["id"] for t in popped["tickets"]] == [ticket["id"]]
    assert frame["caller"]["id"] == customer.id
    assert [t["id"] for t in frame["tickets"]] == [ticket["id"]]
    assert frame["call_id"] == "call-1"


async def test_a_call_from_a_stranger_can_open_a_phone_ticket_once(
    client: AsyncClient, actors: Actors, live_server: LiveServer
) -> None:
    cti, agent = await actors.integration(), await actors.agent()
    body = {
        "call_id": "call-2",
        "from": "+14155550123",
        "agent_email": agent.email,
        "create_ticket": True,
    }
    async with live_client(live_server, agent.token) as answering:
        first = expect(
            await client.post(f"{API}/inbound/calls", json=body, headers=cti.headers), 200
        )
        frame = await answering.receive_type("screen_pop")
    assert first["ticket_id"] is not None
    assert frame["ticket_id"] == first["ticket_id"]
    assert first["caller"]["phone"] == "+14155550123"
    assert [t["id"] for t in first["tickets"]] == [first["ticket_id"]]
    again = expect(await client.post(f"{API}/inbound/calls", json=body, headers=cti.headers), 200)
    assert again["ticket_id"] == first["ticket_id"]
    ticket = expect(
        await client.get(f"{API}/tickets/{first['ticket_id']}", headers=agent.headers), 200
    )
    assert ticket["channel"] == "phone"


async def test_an_unknown_agent_is_refused(client: AsyncClient, actors: Actors) -> None:
    cti, customer = await actors.integration(), await actors.customer()
    response = await client.post(
        f"{API}/inbound/calls",
        json={"call_id": "c3", "from": CALLER, "agent_id": customer.id},
        headers=cti.headers,
    )
    assert_problem(response, 422)
