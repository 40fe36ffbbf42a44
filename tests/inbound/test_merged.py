"""Mail aimed at a ticket that was merged away lands where the request now lives, and
never on another customer's request."""

from __future__ import annotations

from httpx import AsyncClient

from tests.factories import Actors
from tests.inbound.helpers import mail, take_in
from tests.merging.helpers import merge_ok


async def test_a_reply_to_a_merged_duplicate_lands_on_the_primary(
    client: AsyncClient, actors: Actors
) -> None:
    integration, agent = await actors.integration(), await actors.agent()
    first = await take_in(client, integration, mail(subject="Printer on fire"))
    again = await take_in(client, integration, mail(subject="Printer still burning"))
    await merge_ok(client, agent, again["ticket_id"], first["ticket_id"])

    reply = await take_in(
        client, integration, mail(subject=f"Re: [#{again['ticket_id']}] Printer still burning")
    )

    assert reply["outcome"] == "appended"
    assert reply["ticket_id"] == first["ticket_id"]


async def test_another_customers_reply_to_their_merged_ticket_stays_theirs(
    client: AsyncClient, actors: Actors
) -> None:
    integration, agent = await actors.integration(), await actors.agent()
    ada = await take_in(client, integration, mail(subject="Printer on fire"))
    bob = await take_in(
        client, integration, mail(sender="Bob <bob@example.com>", subject="Printer smoking")
    )
    await merge_ok(client, agent, bob["ticket_id"], ada["ticket_id"])

    reply = await take_in(
        client,
        integration,
        mail(sender="Bob <bob@example.com>", subject=f"Re: [#{bob['ticket_id']}] Printer smoking"),
    )

    assert reply["ticket_id"] not in (ada["ticket_id"], bob["ticket_id"])
    assert reply["outcome"] == "followup"
    messages = (
        await client.get(f"/api/v1/tickets/{ada['ticket_id']}/messages", headers=agent.headers)
    ).json()["items"]
    assert all("Bob" not in str(m.get("author")) for m in messages)
