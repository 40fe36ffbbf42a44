from httpx import AsyncClient

from tests.factories import Actors


async def test_a_ticket_lives_from_filing_to_closing(client: AsyncClient, actors: Actors) -> None:
    customer = await actors.customer()
    agent = await actors.agent()
    created = await client.post(
        "/api/v1/tickets",
        json={"subject": "Printer on fire", "description": "It smokes", "urgency": "high"},
        headers=customer.headers,
    )
    assert created.status_code == 201, created.text
    ticket = created.json()
    assert ticket["priority"] == "high"
    assert created.headers["etag"] == '"1"'
    tid = ticket["id"]

    r = await client.post(
        f"/api/v1/tickets/{tid}/assign",
        json={"owner_id": agent.id, "reason": "routing"},
        headers=agent.headers,
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        f"/api/v1/tickets/{tid}/messages", json={"body": "On it"}, headers=agent.headers
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        f"/api/v1/tickets/{tid}/messages",
        json={"body": "secret", "visibility": "internal"},
        headers=agent.headers,
    )
    assert r.status_code == 201, r.text
    r = await client.get(f"/api/v1/tickets/{tid}", headers=customer.headers)
    assert r.json()["status"] == "open", r.text
    assert r.json()["last_action"]["kind"] == "ticket.status_changed", r.text
    ev = await client.get(f"/api/v1/tickets/{tid}/events", headers=agent.headers)
    print([e["kind"] for e in ev.json()["items"]])
    ev = await client.get(f"/api/v1/tickets/{tid}/events", headers=customer.headers)
    print([e["kind"] for e in ev.json()["items"]])
    r = await client.get("/api/v1/tickets", params={"q": "secret"}, headers=agent.headers)
    assert len(r.json()["items"]) == 1
    r = await client.get("/api/v1/tickets", params={"q": "secret"}, headers=customer.headers)
    assert len(r.json()["items"]) == 0
    r = await client.get("/api/v1/tickets", params={"q": "fire"}, headers=customer.headers)
    assert len(r.json()["items"]) == 1
