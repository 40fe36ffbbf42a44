"""What leaves the desk through a webhook without include_internal, end to end: a handover
for sick leave, an escalation with a note, internal notes and staff tags on a customer's
ticket, recorded by a real HTTP receiver. Nothing written for staff reaches it (nor the
customer's mail); an endpoint trusted with include_internal gets it all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.continuity.scheduler import ContinuityScheduler
from app.events.audience import SHAPES
from app.events.kinds import EventKind
from app.models import DeliveryStatus, NotificationDelivery, Role
from app.notifications.worker import DeliveryWorker
from tests.continuity.helpers import assign, away, days_from_now
from tests.factories import Actors
from tests.webhooks.helpers import API, Receiver, create_webhook, expect, make_due

Maker = async_sessionmaker[AsyncSession]

HANDOVER_NOTE = "Careful: this customer is a refund risk"
ESCALATION_NOTE = "Customer threatens to leave, legal may call"
INTERNAL_NOTE = "They were rude on the phone"
STAFF_TAG = "angry-customer"
SECRETS = (HANDOVER_NOTE, ESCALATION_NOTE, INTERNAL_NOTE, STAFF_TAG, "sick_leave", "sick")


def _leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret.lower() in text.lower()]


async def test_a_webhook_without_include_internal_never_hears_what_staff_wrote(
    hook_client: httpx.AsyncClient,
    actors: Actors,
    receiver: Receiver,
    worker: DeliveryWorker,
    sessionmaker: Maker,
    mailbox: Path,
    database_url: str,
) -> None:
    admin, supervisor = await actors.admin(), await actors.supervisor()
    customer = await actors.customer()
    marco = await actors.make(Role.AGENT, name="Marco")
    anna = await actors.make(Role.AGENT, name="Anna")
    public_hook = await create_webhook(hook_client, admin, receiver.url("/public"))
    await create_webhook(hook_client, admin, receiver.url("/trusted"), include_internal=True)

    filed = await hook_client.post(
        f"{API}/tickets",
        json={
            "subject": "Refund please",
            "description": "Twice charged.",
            "requester_id": customer.id,
            "impact": "high",
            "tags": [STAFF_TAG],
        },
        headers=supervisor.headers,
    )
    ticket = expect(filed, 201)
    ticket_url = f"{API}/tickets/{ticket['id']}"
    expect(
        await hook_client.post(
            f"{ticket_url}/assign",
            json={"owner_id": marco.id, "reason": "manual", "note": HANDOVER_NOTE},
            headers=supervisor.headers,
        ),
        200,
    )
    expect(
        await hook_client.post(
            f"{ticket_url}/messages",
            json={"body": INTERNAL_NOTE, "visibility": "internal"},
            headers=marco.headers,
        ),
        201,
    )
    await away(
        hook_client,
        marco,
        marco.id,
        reason="sick_leave",
        ends_at=days_from_now(3),
        backup_id=anna.id,
    )
    await ContinuityScheduler(sessionmaker, database_url, interval=60, batch_size=4).run_once()
    expect(
        await hook_client.post(
            f"{ticket_url}/escalate",
            json={"owner_id": supervisor.id, "note": ESCALATION_NOTE},
            headers=anna.headers,
        ),
        200,
    )
    await make_due(sessionmaker)
    await worker.run_until_idle()

    public = [r.json()["data"]["event"] for r in receiver.requests if r.path == "/public"]
    trusted = [r.json()["data"]["event"] for r in receiver.requests if r.path == "/trusted"]
    # The control: the trusted endpoint heard every word, so the ones below were there.
    assert set(_leaks(json.dumps(trusted))) >= {HANDOVER_NOTE, ESCALATION_NOTE, "sick_leave"}
    assert [e["kind"] for e in public].count("ticket.owner_changed") == 3
    assert all(e["visibility"] == "public" for e in public)
    for request in (r for r in receiver.requests if r.path == "/public"):
        assert _leaks(request.body.decode()) == [], request.body
    for event in public:
        allowed = SHAPES[EventKind(event["kind"])].public
        assert allowed is not None
        assert set(event["data"]) <= allowed, event
    handover = [e for e in public if e["data"].get("reason") == "unavailability"]
    assert handover[0]["data"]["absence"] == {
        "reason": "away",
        "until_day": days_from_now(3).date().isoformat(),
    }
    # What the outbox stored for the webhook and for the customer's mail, and the mail.
    async with sessionmaker() as session:
        stored = (
            await session.scalars(
                select(NotificationDelivery.payload).where(
                    (NotificationDelivery.webhook_id == public_hook["id"])
                    | (NotificationDelivery.recipient_id == customer.id)
                )
            )
        ).all()
    assert stored
    assert _leaks(json.dumps(stored)) == []
    mails = list((mailbox / customer.email).glob("*.eml"))
    assert mails
    for mail in mails:
        assert _leaks(mail.read_text(errors="replace")) == []


async def test_the_customer_sees_none_of_the_desks_assessment(
    hook_client: httpx.AsyncClient, actors: Actors
) -> None:
    supervisor, customer = await actors.supervisor(), await actors.customer()
    ticket = expect(
        await hook_client.post(
            f"{API}/tickets",
            json={
                "subject": "Refund please",
                "description": "Twice charged.",
                "requester_id": customer.id,
                "impact": "high",
                "tags": ["refund-risk", STAFF_TAG],
            },
            headers=supervisor.headers,
        ),
        201,
    )
    await assign(hook_client, supervisor, ticket["id"], supervisor.id)

    seen = expect(
        await hook_client.get(f"{API}/tickets/{ticket['id']}", headers=customer.headers), 200
    )
    listed = expect(await hook_client.get(f"{API}/tickets", headers=customer.headers), 200)
    by_tag = expect(
        await hook_client.get(f"{API}/tickets?tag={STAFF_TAG}", headers=customer.headers), 200
    )

    for shown in (seen, listed["items"][0]):
        assert (shown["tags"], shown["impact"], shown["priority"]) == (None, None, None)
        assert shown["sla"]["breached"] is None
        assert "refund-risk" not in json.dumps(shown)
    assert by_tag["items"] == []  # a filter on a field one cannot see tells nothing
    staff = expect(
        await hook_client.get(f"{API}/tickets/{ticket['id']}", headers=supervisor.headers), 200
    )
    assert staff["tags"] == ["refund-risk", STAFF_TAG]
    assert (staff["impact"], staff["priority"]) == ("high", "high")


async def test_webhook_deliveries_are_an_admins_to_see_and_to_send_again(
    hook_client: httpx.AsyncClient,
    actors: Actors,
    receiver: Receiver,
    worker: DeliveryWorker,
    sessionmaker: Maker,
) -> None:
    admin, supervisor, agent = await actors.admin(), await actors.supervisor(), await actors.agent()
    customer = await actors.customer()
    await create_webhook(hook_client, admin, receiver.url("/down"), ["ticket.created"])
    ticket = expect(
        await hook_client.post(
            f"{API}/tickets",
            json={"subject": "Help", "description": "d", "requester_id": customer.id},
            headers=agent.headers,
        ),
        201,
    )
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(NotificationDelivery).values(status=DeliveryStatus.DEAD, attempts=1)
        )
    url = f"{API}/tickets/{ticket['id']}/notifications"

    def channels(page: dict[str, Any]) -> set[str]:
        return {d["channel"] for d in page["items"]}

    assert channels(expect(await hook_client.get(url, headers=admin.headers), 200)) == {
        "email",
        "webhook",
    }
    for staff in (agent, supervisor):
        assert channels(expect(await hook_client.get(url, headers=staff.headers), 200)) == {"email"}
    history = expect(await hook_client.get(url, headers=admin.headers), 200)["items"]
    [hook_delivery] = [d for d in history if d["channel"] == "webhook"]
    [mail] = [d for d in history if d["channel"] == "email"]

    def retry(delivery_id: int, who: Any) -> Any:
        return hook_client.post(f"{API}/notifications/{delivery_id}/retry", headers=who.headers)

    refused = await retry(hook_delivery["id"], supervisor)
    unknown = await retry(987_654, supervisor)
    assert (refused.status_code, unknown.status_code) == (404, 404)
    assert refused.json()["title"] == unknown.json()["title"]
    assert (await retry(mail["id"], supervisor)).status_code == 200
    assert (await retry(hook_delivery["id"], admin)).status_code == 200
