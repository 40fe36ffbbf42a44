"""Satisfaction surveys: sent on every resolution, answered once by link or in the portal,
on the timeline for agents, and a low rating put in front of a supervisor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import select, update

from app.models import NotificationDelivery, SatisfactionSurvey, Ticket, User
from tests.factories import Actors, assert_problem, make_team
from tests.feedback.conftest import Mailbox, text_of
from tests.feedback.helpers import (
    API,
    Maker,
    events_of,
    expect,
    file_ticket,
    link_in,
    move,
    resolved_ticket,
    survey_path,
)


async def test_the_emailed_link_takes_one_answer_without_logging_in(
    client: AsyncClient, anonymous: AsyncClient, actors: Actors, mailbox: Mailbox
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await resolved_ticket(client, customer, agent)

    await mailbox.deliver()
    [*_, invitation] = mailbox.to(customer.email)
    assert "rate how we handled your request" in text_of(invitation)
    link = link_in(invitation)
    raw = b"".join(p.read_bytes() for p in (mailbox.directory / customer.email).glob("*.eml"))
    assert link.encode() in raw  # on one line, even in the quoted-printable body

    shown = expect(await anonymous.get(link), 200)
    assert shown == {
        "subject": ticket["subject"],
        "question": "How satisfied are you with how we handled your request?",
        "min_rating": 1,
        "max_rating": 5,
    }
    answer = {"rating": 5, "comment": "Quick and kind."}
    thanks = expect(await anonymous.post(link, json=answer), 201)
    assert thanks["rating"] == 5
    assert thanks["comment"] == "Quick and kind."

    again = assert_problem(await anonymous.post(link, json={"rating": 1}), 409)
    assert "already been answered" in again["detail"]
    assert_problem(await anonymous.get(link), 409)
    survey = expect(
        await client.get(f"{API}/tickets/{ticket['id']}/satisfaction", headers=customer.headers),
        200,
    )
    assert (survey["state"], survey["rating"], survey["answered_via"]) == ("answered", 5, "link")


async def test_an_expired_or_forged_link_reveals_nothing(
    client: AsyncClient, anonymous: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await resolved_ticket(client, customer, agent)
    link = await survey_path(sessionmaker, ticket["id"])
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(SatisfactionSurvey).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )

    forged = link[:-4] + ("AAAA" if not link.endswith("AAAA") else "BBBB")
    answers = [
        await anonymous.get(link),
        await anonymous.post(link, json={"rating": 3}),
        await anonymous.get(forged),
        await anonymous.post(forged, json={"rating": 3}),
        await anonymous.get(f"{API}/surveys/not-a-token"),
    ]
    bodies = [assert_problem(response, 404) for response in answers]
    assert {(b["type"], b["title"], b["detail"]) for b in bodies} == {
        (bodies[0]["type"], bodies[0]["title"], bodies[0]["detail"])
    }
    assert ticket["subject"] not in str(bodies)


async def test_the_link_is_rate_limited_per_client(anonymous: AsyncClient, app: FastAPI) -> None:
    burst = int(app.state.survey_rate_limiter.burst)
    answers = [await anonymous.get(f"{API}/surveys/sv_guess{n}") for n in range(burst + 1)]
    assert {r.status_code for r in answers[:-1]} == {404}
    limited = assert_problem(answers[-1], 429)
    assert int(answers[-1].headers["Retry-After"]) >= 1
    assert "Rate limit" in limited["detail"]


async def test_the_requester_answers_in_the_portal_once_per_resolution(
    client: AsyncClient, anonymous: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await resolved_ticket(client, customer, agent)
    url = f"{API}/tickets/{ticket['id']}/satisfaction"
    first_link = await survey_path(sessionmaker, ticket["id"])

    pending = expect(await client.get(url, headers=customer.headers), 200)
    assert (pending["state"], pending["resolution"], pending["rating"]) == ("pending", 1, None)
    assert pending["owner"] == {"id": agent.id, "name": agent.name}
    answered = expect(await client.post(url, json={"rating": 4}, headers=customer.headers), 201)
    assert (answered["state"], answered["rating"], answered["answered_via"]) == (
        "answered",
        4,
        "portal",
    )
    assert_problem(await client.post(url, json={"rating": 5}, headers=customer.headers), 409)
    assert_problem(await anonymous.post(first_link, json={"rating": 1}), 409)

    # Reopened and resolved again: a new survey, and only the new one is open.
    await move(client, customer, ticket["id"], "open")
    await move(client, agent, ticket["id"], "resolved")
    second = expect(await client.get(url, headers=customer.headers), 200)
    assert (second["state"], second["resolution"]) == ("pending", 2)
    expect(await client.post(url, json={"rating": 5}, headers=customer.headers), 201)


async def test_an_unanswered_survey_stops_working_when_a_new_resolution_comes(
    client: AsyncClient, anonymous: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await resolved_ticket(client, customer, agent)
    old_link = await survey_path(sessionmaker, ticket["id"])
    await move(client, customer, ticket["id"], "open")
    await move(client, agent, ticket["id"], "resolved")
    new_link = await survey_path(sessionmaker, ticket["id"])

    assert old_link != new_link
    assert_problem(await anonymous.get(old_link), 404)
    expect(await anonymous.post(new_link, json={"rating": 4}), 201)


async def test_the_answer_is_on_the_timeline_for_agents_tied_to_owner_and_team(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    team_id = await make_team(sessionmaker, member_ids=[agent.id])
    ticket = await resolved_ticket(client, customer, agent, team_id=team_id)
    url = f"{API}/tickets/{ticket['id']}/satisfaction"
    expect(
        await client.post(url, json={"rating": 3, "comment": "OK."}, headers=customer.headers),
        201,
    )

    staff_view = expect(
        await client.get(f"{API}/tickets/{ticket['id']}/events", headers=agent.headers), 200
    )
    [received] = [e for e in staff_view["items"] if e["kind"] == "feedback.received"]
    assert received["visibility"] == "internal"
    assert received["actor"]["id"] == customer.id
    assert received["data"]["rating"] == 3
    assert received["data"]["comment"] == "OK."
    assert received["data"]["owner"] == {"id": agent.id, "name": agent.name}
    assert received["data"]["team_id"] == team_id
    customer_view = expect(
        await client.get(f"{API}/tickets/{ticket['id']}/events", headers=customer.headers), 200
    )
    assert "feedback.received" not in {e["kind"] for e in customer_view["items"]}
    survey = expect(await client.get(url, headers=agent.headers), 200)
    assert survey["team"]["id"] == team_id

    async with sessionmaker() as session:
        stored = await session.scalar(select(SatisfactionSurvey))
    assert stored is not None
    assert (stored.owner_id, stored.team_id, stored.resolved_by_id) == (agent.id, team_id, agent.id)
    assert stored.token_hash != b""
    assert stored.token_nonce not in (await survey_path(sessionmaker, ticket["id"]))


async def test_a_low_rating_alerts_the_supervisor_and_reopens_the_ticket(
    client: AsyncClient, actors: Actors, sessionmaker: Maker, mailbox: Mailbox
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    supervisor, elsewhere = await actors.supervisor(), await actors.supervisor()
    await make_team(sessionmaker, member_ids=[agent.id, supervisor.id])
    await make_team(sessionmaker, member_ids=[elsewhere.id])
    ticket = await resolved_ticket(client, customer, agent)
    await mailbox.deliver()

    url = f"{API}/tickets/{ticket['id']}/satisfaction"
    answer = {"rating": 2, "comment": "Nobody called me back."}
    expect(await client.post(url, json=answer, headers=customer.headers), 201)

    reopened = expect(await client.get(f"{API}/tickets/{ticket['id']}", headers=agent.headers), 200)
    assert reopened["status"] == "open"
    await mailbox.deliver()
    [alert] = mailbox.to(supervisor.email)
    assert "Low satisfaction" in text_of(alert)
    assert "2/5" in text_of(alert)
    assert "Nobody called me back." in text_of(alert)
    assert mailbox.to(elsewhere.email) == []
    owner_mail = text_of(mailbox.to(agent.email)[-1])
    assert "rated request" in owner_mail


async def test_a_low_rating_on_a_closed_ticket_opens_a_follow_up_for_the_same_owner(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    await actors.supervisor()
    ticket = await resolved_ticket(client, customer, agent)
    await move(client, agent, ticket["id"], "closed")

    url = f"{API}/tickets/{ticket['id']}/satisfaction"
    expect(await client.post(url, json={"rating": 1}, headers=customer.headers), 201)

    mine = expect(await client.get(f"{API}/tickets", headers=customer.headers), 200)
    [follow_up] = [t for t in mine["items"] if t["id"] != ticket["id"]]
    assert follow_up["subject"] == f"Follow-up: {ticket['subject']}"
    assert follow_up["owner"]["id"] == agent.id
    assert follow_up["status"] == "new"


async def test_a_good_rating_leaves_the_ticket_resolved_and_alerts_nobody(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    customer, agent, supervisor = (
        await actors.customer(),
        await actors.agent(),
        await actors.supervisor(),
    )
    ticket = await resolved_ticket(client, customer, agent)
    url = f"{API}/tickets/{ticket['id']}/satisfaction"
    expect(await client.post(url, json={"rating": 3}, headers=customer.headers), 201)

    still = expect(await client.get(f"{API}/tickets/{ticket['id']}", headers=agent.headers), 200)
    assert still["status"] == "resolved"
    async with sessionmaker() as session:
        to_supervisor = await session.scalar(
            select(NotificationDelivery).where(NotificationDelivery.recipient_id == supervisor.id)
        )
    assert to_supervisor is None


async def test_a_customer_resolving_their_own_ticket_gets_a_survey_and_italian_words(
    client: AsyncClient, actors: Actors, sessionmaker: Maker, mailbox: Mailbox
) -> None:
    customer = await actors.customer()
    async with sessionmaker() as session, session.begin():
        await session.execute(update(User).where(User.id == customer.id).values(locale="it"))
    ticket = await file_ticket(client, customer)
    await move(client, customer, ticket["id"], "resolved")

    await mailbox.deliver()
    invitation = mailbox.to(customer.email)[-1]
    assert "Come siamo andati?" in text_of(invitation)
    link_in(invitation)
    survey = expect(
        await client.get(f"{API}/tickets/{ticket['id']}/satisfaction", headers=customer.headers),
        200,
    )
    assert survey["question"].startswith("Quanto sei soddisfatto")


async def test_only_the_requester_answers_and_other_customers_see_nothing(
    client: AsyncClient, actors: Actors
) -> None:
    customer, stranger, agent = (
        await actors.customer(),
        await actors.customer(),
        await actors.agent(),
    )
    ticket = await resolved_ticket(client, customer, agent)
    url = f"{API}/tickets/{ticket['id']}/satisfaction"

    assert_problem(await client.get(url, headers=stranger.headers), 404)
    assert_problem(await client.post(url, json={"rating": 1}, headers=stranger.headers), 404)
    assert_problem(await client.post(url, json={"rating": 5}, headers=agent.headers), 403)
    unresolved = await file_ticket(client, customer)
    assert_problem(
        await client.get(
            f"{API}/tickets/{unresolved['id']}/satisfaction", headers=customer.headers
        ),
        404,
    )
    assert_problem(
        await client.post(
            f"{API}/tickets/{unresolved['id']}/satisfaction",
            json={"rating": 5},
            headers=customer.headers,
        ),
        409,
    )


async def test_answers_are_validated(
    client: AsyncClient, anonymous: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await resolved_ticket(client, customer, agent)
    link = await survey_path(sessionmaker, ticket["id"])
    for bad in (
        {"rating": 0},
        {"rating": 6},
        {"rating": 3, "comment": "a\u0000b"},
        {},
        {"rating": 3, "extra": 1},
    ):
        assert_problem(await anonymous.post(link, json=bad), 422)
    expect(await anonymous.post(link, json={"rating": 3}), 201)


async def test_a_retried_portal_answer_replays_the_first_response(
    client: AsyncClient, actors: Actors
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await resolved_ticket(client, customer, agent)
    url = f"{API}/tickets/{ticket['id']}/satisfaction"
    headers = {**customer.headers, "Idempotency-Key": "csat-1"}

    first = await client.post(url, json={"rating": 4}, headers=headers)
    again = await client.post(url, json={"rating": 4}, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert_problem(await client.post(url, json={"rating": 2}, headers=headers), 422)


async def test_no_survey_for_a_deactivated_requester(
    client: AsyncClient, actors: Actors, sessionmaker: Maker
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    ticket = await file_ticket(client, customer)
    async with sessionmaker() as session, session.begin():
        await session.execute(update(User).where(User.id == customer.id).values(active=False))
    await move(client, agent, ticket["id"], "resolved")
    async with sessionmaker() as session:
        assert await session.scalar(select(SatisfactionSurvey.id)) is None
        stored = await session.get(Ticket, ticket["id"])
    assert stored is not None
    assert stored.status.value == "resolved"
    assert await events_of(sessionmaker, ticket["id"], "feedback.received") == []
