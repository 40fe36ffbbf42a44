"""A suggestion's life: new → acknowledged → planned → done (or declined), with a public
response, and the author told at each step through the outbox."""

from __future__ import annotations

from httpx import AsyncClient
from sqlalchemy import select, update

from app.models import FeedbackChange, User
from tests.factories import Actors, assert_problem
from tests.feedback.conftest import Mailbox, text_of
from tests.feedback.helpers import API, Maker, expect, feedback_step, file_feedback


async def test_the_author_is_told_at_each_step_and_sees_the_status_of_their_feedback(
    client: AsyncClient, actors: Actors, mailbox: Mailbox, sessionmaker: Maker
) -> None:
    customer, agent, supervisor = (
        await actors.customer(),
        await actors.agent(),
        await actors.supervisor(),
    )
    filed = await file_feedback(client, customer, kind="suggestion", body="Add a dark mode.")
    await mailbox.deliver()
    [receipt] = mailbox.to(customer.email)
    assert f"ref. F-{filed['id']}" in text_of(receipt)
    assert receipt["Subject"].startswith("Thank you: we have received your feedback")
    assert "#None" not in text_of(receipt)

    steps = [
        (agent, "acknowledged", "Thanks, we are looking into it."),
        (supervisor, "planned", "Dark mode is planned for the spring release."),
        (agent, "done", None),
    ]
    for actor, status, response in steps:
        changed = expect(await feedback_step(client, actor, filed["id"], status, response), 200)
        assert changed["status"] == status
        mine = expect(await client.get(f"{API}/feedback?mine=true", headers=customer.headers), 200)
        [seen] = mine["items"]
        assert seen["status"] == status
        await mailbox.deliver()

    told = mailbox.to(customer.email)
    assert len(told) == 4
    texts = [text_of(message) for message in told[1:]]
    assert "has been acknowledged" in texts[0]
    assert "Thanks, we are looking into it." in texts[0]
    assert "is now planned" in texts[1]
    assert "spring release" in texts[1]
    assert "it is done" in texts[2]
    assert "spring release" in texts[2]  # the latest response stands until replaced
    final = expect(await client.get(f"{API}/feedback/{filed['id']}", headers=customer.headers), 200)
    assert final["public_response"] == "Dark mode is planned for the spring release."

    async with sessionmaker() as session:
        history = list(
            await session.scalars(
                select(FeedbackChange)
                .where(FeedbackChange.feedback_id == filed["id"])
                .order_by(FeedbackChange.id)
            )
        )
    assert [(c.from_status, c.to_status) for c in history] == [
        (None, "new"),
        ("new", "acknowledged"),
        ("acknowledged", "planned"),
        ("planned", "done"),
    ]
    assert [c.actor_id for c in history] == [customer.id, agent.id, supervisor.id, agent.id]


async def test_moves_outside_the_lifecycle_are_conflicts(
    client: AsyncClient, actors: Actors
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    filed = await file_feedback(client, customer)

    skipped = assert_problem(await feedback_step(client, agent, filed["id"], "done"), 409)
    assert skipped["allowed"] == ["acknowledged", "declined"]
    expect(await feedback_step(client, agent, filed["id"], "declined", "Not for us, sorry."), 200)
    final = assert_problem(await feedback_step(client, agent, filed["id"], "acknowledged"), 409)
    assert final["allowed"] == []
    assert_problem(await feedback_step(client, agent, 999_999, "acknowledged"), 404)
    bad = await client.post(
        f"{API}/feedback/{filed['id']}/status", json={"status": "shipped"}, headers=agent.headers
    )
    assert_problem(bad, 422)


async def test_only_staff_walk_the_lifecycle(client: AsyncClient, actors: Actors) -> None:
    customer, integration = await actors.customer(), await actors.integration()
    filed = await file_feedback(client, customer)
    by_integration = await file_feedback(client, integration, customer_id=customer.id)
    assert_problem(await feedback_step(client, customer, filed["id"], "acknowledged"), 403)
    assert_problem(
        await feedback_step(client, integration, by_integration["id"], "acknowledged"), 403
    )


async def test_the_customer_behind_agent_filed_feedback_is_told_in_their_language(
    client: AsyncClient, actors: Actors, mailbox: Mailbox, sessionmaker: Maker
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    async with sessionmaker() as session, session.begin():
        await session.execute(update(User).where(User.id == customer.id).values(locale="it"))
    filed = await file_feedback(
        client, agent, kind="improvement_request", customer_id=customer.id, channel="phone"
    )
    await mailbox.deliver()
    expect(await feedback_step(client, agent, filed["id"], "acknowledged", "Ci lavoriamo."), 200)
    await mailbox.deliver()

    receipt, step = mailbox.to(customer.email)
    assert "richiesta di miglioramento" in text_of(receipt)
    assert "è stata presa in carico" in text_of(step)
    assert "Ci lavoriamo." in text_of(step)
    assert mailbox.to(agent.email) == []


async def test_staff_filing_their_own_idea_hear_of_steps_others_take(
    client: AsyncClient, actors: Actors, mailbox: Mailbox
) -> None:
    agent, supervisor = await actors.agent(), await actors.supervisor()
    filed = await file_feedback(client, agent, kind="improvement_request")
    expect(await feedback_step(client, supervisor, filed["id"], "acknowledged"), 200)
    await mailbox.deliver()
    [told] = mailbox.to(agent.email)
    assert "has been acknowledged" in text_of(told)
