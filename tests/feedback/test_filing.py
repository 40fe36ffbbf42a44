"""Filing feedback: every kind, from customers, agents on a customer's behalf and
integrations; a message flagged as feedback; idempotent creates; who sees what."""

from __future__ import annotations

import pytest
from httpx import AsyncClient

from app.models import FeedbackKind
from tests.factories import Actors, assert_problem
from tests.feedback.helpers import API, Maker, events_of, expect, file_feedback, file_ticket

STAFF_ONLY_FIELDS = {"author", "customer", "primary_id", "votes", "supporters", "category", "tags"}


@pytest.mark.parametrize("kind", [k.value for k in FeedbackKind if k is not FeedbackKind.COMPLAINT])
async def test_a_customer_files_each_kind_and_sees_only_what_they_said_and_our_response(
    client: AsyncClient, actors: Actors, kind: str
) -> None:
    customer = await actors.customer()
    filed = await file_feedback(
        client, customer, kind=kind, body="The new invoice page is great.", tags=["Billing"]
    )
    assert filed["kind"] == kind
    assert filed["status"] == "new"
    assert filed["channel"] == "web"
    assert filed["public_response"] is None
    assert not STAFF_ONLY_FIELDS & filed.keys()

    again = expect(await client.get(f"{API}/feedback/{filed['id']}", headers=customer.headers), 200)
    assert again == filed


async def test_an_agent_files_for_a_customer_from_a_call(
    client: AsyncClient, actors: Actors
) -> None:
    agent, customer = await actors.agent(), await actors.customer()
    filed = await file_feedback(
        client,
        agent,
        kind="improvement_request",
        body="Wants exports in CSV.",
        customer_id=customer.id,
        channel="phone",
        category="reports",
        tags=["exports", "exports"],
    )
    assert filed["author"]["id"] == agent.id
    assert filed["customer"]["id"] == customer.id
    assert filed["channel"] == "phone"
    assert filed["tags"] == ["exports"]
    assert (filed["votes"], filed["supporters"], filed["duplicates"]) == (0, 1, 0)

    mine = expect(await client.get(f"{API}/feedback?mine=true", headers=customer.headers), 200)
    assert [item["id"] for item in mine["items"]] == [filed["id"]]
    assert mine["items"][0]["status"] == "new"


async def test_an_agent_names_a_new_customer_by_email_from_a_chat(
    client: AsyncClient, actors: Actors
) -> None:
    agent = await actors.agent()
    filed = await file_feedback(
        client,
        agent,
        kind="praise",
        body="Loved the quick answer.",
        customer={"email": "New.Person@Example.com", "name": "New Person"},
        channel="chat",
    )
    assert filed["customer"]["email"] == "new.person@example.com"
    assert filed["channel"] == "chat"


async def test_an_integration_files_and_reads_only_its_own(
    client: AsyncClient, actors: Actors
) -> None:
    integration, other = await actors.integration(), await actors.integration()
    customer = await actors.customer()
    filed = await file_feedback(client, integration, kind="suggestion", customer_id=customer.id)
    assert filed["channel"] == "api"
    assert "author" not in filed

    expect(await client.get(f"{API}/feedback/{filed['id']}", headers=integration.headers), 200)
    assert_problem(await client.get(f"{API}/feedback/{filed['id']}", headers=other.headers), 404)
    listed = expect(await client.get(f"{API}/feedback", headers=other.headers), 200)
    assert listed["items"] == []


async def test_staff_may_file_their_own_idea_for_nobody(
    client: AsyncClient, actors: Actors
) -> None:
    supervisor = await actors.supervisor()
    filed = await file_feedback(client, supervisor, kind="suggestion")
    assert filed["customer"] is None
    assert filed["supporters"] == 0


async def test_customers_speak_only_for_themselves(client: AsyncClient, actors: Actors) -> None:
    customer, other = await actors.customer(), await actors.customer()
    for extra in ({"customer_id": other.id}, {"customer": {"email": "x@example.com"}}):
        response = await client.post(
            f"{API}/feedback",
            json={"kind": "suggestion", "body": "Hi", **extra},
            headers=customer.headers,
        )
        assert "customer" in assert_problem(response, 422)["detail"]


async def test_bad_input_is_refused_with_a_problem(client: AsyncClient, actors: Actors) -> None:
    agent, customer = await actors.agent(), await actors.customer()
    staff = await actors.supervisor()
    bad_bodies = [
        {"kind": "rant", "body": "x"},
        {"kind": "praise", "body": ""},
        {"kind": "praise", "body": "a\u0000b"},
        {"kind": "praise", "body": "x" * 20_001},
        {"kind": "praise", "body": "x", "tags": ["t"] * 21},
        {"kind": "praise", "body": "x", "customer_id": 1, "customer": {"email": "a@b.co"}},
        {"kind": "praise", "body": "x", "owner_id": 1},
    ]
    for body in bad_bodies:
        assert_problem(await client.post(f"{API}/feedback", json=body, headers=agent.headers), 422)
    not_a_customer = {"kind": "praise", "body": "x", "customer_id": staff.id}
    assert_problem(
        await client.post(f"{API}/feedback", json=not_a_customer, headers=agent.headers), 422
    )
    assert_problem(await client.post(f"{API}/feedback", json={"kind": "praise", "body": "x"}), 401)
    unknown_ticket = {"kind": "praise", "body": "x", "ticket_id": 999_999}
    assert_problem(
        await client.post(f"{API}/feedback", json=unknown_ticket, headers=customer.headers), 404
    )


async def test_feedback_about_a_ticket_goes_on_its_timeline_for_agents(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await file_ticket(client, customer)
    filed = await file_feedback(client, customer, kind="praise", ticket_id=ticket["id"])
    assert filed["ticket_id"] == ticket["id"]

    [event] = await events_of(sessionmaker, ticket["id"], "feedback.received")
    assert event.visibility.value == "internal"
    assert event.data["feedback_id"] == filed["id"]
    timeline = expect(
        await client.get(f"{API}/tickets/{ticket['id']}/events", headers=customer.headers), 200
    )
    assert "feedback.received" not in {e["kind"] for e in timeline["items"]}
    staff = expect(await client.get(f"{API}/feedback/{filed['id']}", headers=agent.headers), 200)
    assert staff["customer"]["id"] == customer.id


async def test_feedback_about_someone_elses_ticket_is_refused(
    client: AsyncClient, actors: Actors
) -> None:
    customer, other, agent = await actors.customer(), await actors.customer(), await actors.agent()
    ticket = await file_ticket(client, other)
    theirs = {"kind": "praise", "body": "x", "ticket_id": ticket["id"]}
    assert_problem(await client.post(f"{API}/feedback", json=theirs, headers=customer.headers), 404)
    mismatch = {**theirs, "customer_id": customer.id}
    assert_problem(await client.post(f"{API}/feedback", json=mismatch, headers=agent.headers), 422)


async def test_an_agent_flags_a_message_as_feedback_with_the_link_back(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await file_ticket(client, customer)
    message = expect(
        await client.post(
            f"{API}/tickets/{ticket['id']}/messages",
            json={"body": "It would be nice to get an SMS when you reply."},
            headers=customer.headers,
        ),
        201,
    )
    url = f"{API}/tickets/{ticket['id']}/messages/{message['id']}/feedback"

    flagged = expect(
        await client.post(url, json={"kind": "suggestion", "tags": ["sms"]}, headers=agent.headers),
        201,
    )
    assert flagged["body"] == "It would be nice to get an SMS when you reply."
    assert (flagged["ticket_id"], flagged["message_id"]) == (ticket["id"], message["id"])
    assert flagged["customer"]["id"] == customer.id
    assert flagged["author"]["id"] == agent.id
    assert flagged["channel"] == "web"
    [event] = await events_of(sessionmaker, ticket["id"], "feedback.received")
    assert event.data["message_id"] == message["id"]
    assert event.data["feedback_id"] == flagged["id"]

    assert_problem(await client.post(url, json={"kind": "praise"}, headers=customer.headers), 403)
    missing = f"{API}/tickets/{ticket['id']}/messages/999999/feedback"
    assert_problem(await client.post(missing, json={"kind": "praise"}, headers=agent.headers), 404)


async def test_an_internal_note_is_flagged_only_with_words_meant_for_the_customer(
    client: AsyncClient, actors: Actors
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await file_ticket(client, customer)
    note = expect(
        await client.post(
            f"{API}/tickets/{ticket['id']}/messages",
            json={
                "body": "On the phone: wants a yearly plan. Seems annoyed.",
                "visibility": "internal",
            },
            headers=agent.headers,
        ),
        201,
    )
    url = f"{API}/tickets/{ticket['id']}/messages/{note['id']}/feedback"
    assert_problem(await client.post(url, json={"kind": "suggestion"}, headers=agent.headers), 422)
    flagged = expect(
        await client.post(
            url,
            json={"kind": "suggestion", "body": "Offer a yearly plan."},
            headers=agent.headers,
        ),
        201,
    )
    seen = expect(
        await client.get(f"{API}/feedback/{flagged['id']}", headers=customer.headers), 200
    )
    assert seen["body"] == "Offer a yearly plan."


async def test_a_retried_create_replays_and_creates_nothing_new(
    client: AsyncClient, actors: Actors
) -> None:
    customer = await actors.customer()
    body = {"kind": "suggestion", "body": "More colours."}
    headers = {**customer.headers, "Idempotency-Key": "fb-1"}

    first = await client.post(f"{API}/feedback", json=body, headers=headers)
    again = await client.post(f"{API}/feedback", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == f"/api/v1/feedback/{first.json()['id']}"
    changed = await client.post(f"{API}/feedback", json={**body, "body": "Fewer."}, headers=headers)
    assert_problem(changed, 422)
    listed = expect(await client.get(f"{API}/feedback", headers=customer.headers), 200)
    assert len(listed["items"]) == 1


async def test_a_retried_flag_replays(client: AsyncClient, actors: Actors) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await file_ticket(client, customer)
    message = expect(
        await client.post(
            f"{API}/tickets/{ticket['id']}/messages",
            json={"body": "Thanks!"},
            headers=customer.headers,
        ),
        201,
    )
    url = f"{API}/tickets/{ticket['id']}/messages/{message['id']}/feedback"
    headers = {**agent.headers, "Idempotency-Key": "flag-1"}
    first = await client.post(url, json={"kind": "praise"}, headers=headers)
    again = await client.post(url, json={"kind": "praise"}, headers=headers)
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"


async def test_a_customer_probing_others_feedback_finds_nothing(
    client: AsyncClient, actors: Actors
) -> None:
    alice, mallory, agent = await actors.customer(), await actors.customer(), await actors.agent()
    complaint = await file_feedback(client, alice, kind="complaint", body="Billing is wrong!")
    praise = await file_feedback(client, agent, kind="praise", customer_id=alice.id)

    for record in (complaint, praise):
        url = f"{API}/feedback/{record['id']}"
        probe = assert_problem(await client.get(url, headers=mallory.headers), 404)
        assert probe["detail"] == "Feedback {} does not exist.".format(record["id"])
        assert_problem(await client.get(f"{API}/feedback/999999", headers=mallory.headers), 404)
        assert_problem(
            await client.post(f"{url}/status", json={"status": "done"}, headers=mallory.headers),
            403,
        )
        assert_problem(await client.patch(url, json={"tags": []}, headers=mallory.headers), 403)
    assert_problem(
        await client.post(f"{API}/feedback/{complaint['id']}/votes", headers=mallory.headers), 404
    )
    for query in ("", "?mine=true", "?q=billing", f"?customer_id={alice.id}", "?kind=complaint"):
        listed = expect(await client.get(f"{API}/feedback{query}", headers=mallory.headers), 200)
        assert listed["items"] == [], query
    assert_problem(
        await client.get(f"{API}/feedback/{complaint['id']}/votes", headers=mallory.headers), 403
    )
    assert_problem(
        await client.get(
            f"{API}/tickets/{complaint['ticket_id']}/satisfaction", headers=mallory.headers
        ),
        404,
    )


async def test_feedback_does_not_tell_a_staff_address_from_any_other_non_customer(
    client: AsyncClient, actors: Actors
) -> None:
    integration, agent, admin = (
        await actors.integration(),
        await actors.agent(),
        await actors.admin(),
    )
    gone = await actors.customer()
    await client.patch(f"{API}/users/{gone.id}", json={"active": False}, headers=admin.headers)

    answers = [
        await client.post(
            f"{API}/feedback",
            json={"kind": "praise", "body": "Great", **who},
            headers=integration.headers,
        )
        for who in (
            {"customer": {"email": agent.email}},
            {"customer_id": agent.id},
            {"customer_id": gone.id},
            {"customer_id": 987_654},
        )
    ]

    bodies = [assert_problem(answer, 422) for answer in answers]
    assert len({(b["title"], b["detail"]) for b in bodies}) == 1
    assert agent.email not in bodies[0]["detail"]
