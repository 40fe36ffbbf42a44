"""The answer to POST /tickets is built from what the filing knows, not read back:
it must be exactly what a GET of the new ticket then returns, in every way of filing."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient, Response

from app.models import AssignmentMode
from tests.factories import Actor, Actors, make_team
from tests.tickets.helpers import Maker

API = "/api/v1"


async def _filed_then_read(client: AsyncClient, author: Actor, body: dict[str, Any]) -> Response:
    created = await client.post(f"{API}/tickets", json=body, headers=author.headers)
    assert created.status_code == 201, created.text
    read = await client.get(created.headers["Location"], headers=author.headers)
    assert read.status_code == 200, read.text
    assert created.json() == read.json()
    assert created.headers["ETag"] == read.headers["ETag"]
    return created


async def test_a_customers_own_ticket(client: AsyncClient, actors: Actors) -> None:
    customer = await actors.customer()
    body = {"subject": "Printer", "description": "It jams.", "urgency": "high", "impact": "low"}

    created = await _filed_then_read(client, customer, body)

    assert created.json()["last_action"]["kind"] == "ticket.created"
    assert created.json()["owner"] is None


async def test_an_agent_filing_for_a_customer_by_email(client: AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()
    body = {
        "subject": "Phone call",
        "description": "Called about an invoice.",
        "channel": "phone",
        "requester": {"email": "New.Caller@example.com", "name": "New Caller"},
        "tags": ["Billing", "billing", "vip"],
        "category": "billing",
    }

    created = await _filed_then_read(client, agent, body)

    assert created.json()["requester"]["email"] == "new.caller@example.com"


@pytest.mark.parametrize("mode", [AssignmentMode.ROUND_ROBIN, AssignmentMode.LEAST_LOADED])
async def test_a_ticket_routed_to_an_owner_on_arrival(
    client: AsyncClient, actors: Actors, sessionmaker: Maker, mode: AssignmentMode
) -> None:
    agent, member = await actors.agent(), await actors.agent()
    team = await make_team(sessionmaker, member_ids=[member.id], assignment=mode)
    customer = await actors.customer()
    body = {"subject": "VPN", "description": "Down.", "requester_id": customer.id, "team_id": team}

    created = await _filed_then_read(client, agent, body)

    assert created.json()["owner"] == {"id": member.id, "name": member.name}
    assert created.json()["last_owner_change"]["reason"] == "routing"
    assert created.json()["version"] == 2


async def test_a_ticket_routed_by_its_category_to_a_queue(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    admin, integration = await actors.admin(), await actors.integration()
    team = await make_team(sessionmaker, assignment=AssignmentMode.MANUAL)
    rule = {"category": "returns", "team_id": team}
    assert (await client.post(f"{API}/routing-rules", json=rule, headers=admin.headers)).is_success
    customer = await actors.customer()
    body = {
        "subject": "Parcel",
        "description": "Came back.",
        "requester_id": customer.id,
        "category": "returns",
        "external_ref": "SHOP-1",
    }

    created = await _filed_then_read(client, integration, body)

    assert created.json()["team"]["id"] == team
    assert created.json()["owner"] is None
    assert created.json()["external_ref"] == "SHOP-1"
