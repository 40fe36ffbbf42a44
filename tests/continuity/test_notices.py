"""What the customer was told: once per move, who handles it now and why, in their words."""

from __future__ import annotations

from datetime import UTC, datetime

from httpx import AsyncClient

from app.continuity.scheduler import ContinuityScheduler
from app.models import AssignmentMode, Role
from tests.continuity.conftest import Mailbox
from tests.continuity.helpers import (
    API,
    Maker,
    assign,
    away,
    day_words,
    days_from_now,
    end_absence,
    file_ticket,
    set_active,
)
from tests.factories import Actors, make_team
from tests.tickets.helpers import patch


async def test_the_customer_hears_once_who_is_away_until_when_and_who_took_over(
    client: AsyncClient, actors: Actors, scheduler: ContinuityScheduler, mailbox: Mailbox
) -> None:
    customer = await actors.customer()
    marco = await actors.make(Role.AGENT, name="Marco")
    anna = await actors.make(Role.AGENT, name="Anna")
    ticket = await file_ticket(client, customer)
    await assign(client, marco, ticket["id"], marco.id)
    await mailbox.deliver()
    before = len(mailbox.texts_to(customer.email))
    back = days_from_now(9)
    await away(client, marco, marco.id, reason="sick_leave", ends_at=back, backup_id=anna.id)

    await scheduler.run_once()
    await scheduler.run_once()
    await mailbox.deliver()

    told = mailbox.texts_to(customer.email)[before:]
    expected = f"Marco is away until {day_words(back)}; Anna is now handling your request."
    assert [expected in text for text in told] == [True]
    assert "sick" not in told[0].lower()
    # Nobody writes to Marco about each ticket taken off his hands while he is away.
    assert all(
        f"#{ticket['id']} has been handed over" not in t for t in mailbox.texts_to(marco.email)
    )


async def test_italian_customers_are_told_in_italian(
    client: AsyncClient, actors: Actors, scheduler: ContinuityScheduler, mailbox: Mailbox
) -> None:
    admin = await actors.admin()
    customer = await actors.customer()
    await client.patch(f"{API}/users/{customer.id}", json={"locale": "it"}, headers=admin.headers)
    marco = await actors.make(Role.AGENT, name="Marco")
    anna = await actors.make(Role.AGENT, name="Anna")
    ticket = await file_ticket(client, customer)
    await assign(client, marco, ticket["id"], marco.id)
    await mailbox.deliver()
    back = days_from_now(9)
    await away(client, marco, marco.id, ends_at=back, backup_id=anna.id)

    await scheduler.run_once()
    await mailbox.deliver()

    latest = mailbox.texts_to(customer.email)[-1]
    expected = (
        f"Marco è assente fino al {day_words(back, 'it')}; ora la tua richiesta è seguita da Anna."
    )
    assert expected in latest


async def test_told_when_someone_left_and_when_the_owner_is_back(
    client: AsyncClient,
    actors: Actors,
    sessionmaker: Maker,
    scheduler: ContinuityScheduler,
    mailbox: Mailbox,
) -> None:
    admin, customer = await actors.admin(), await actors.customer()
    marco = await actors.make(Role.AGENT, name="Marco")
    anna = await actors.make(Role.AGENT, name="Anna")
    luca = await actors.make(Role.AGENT, name="Luca")
    team = await make_team(
        sessionmaker, member_ids=[luca.id, anna.id], assignment=AssignmentMode.ROUND_ROBIN
    )
    left = await file_ticket(client, customer)
    returns = await file_ticket(client, customer)
    # Luca's ticket is his team's (filed, it landed in the catch-all team).
    moved = await patch(client, admin, left["id"], team_id=team)
    assert moved.status_code == 200, moved.text
    await assign(client, admin, left["id"], luca.id)
    await assign(client, admin, returns["id"], marco.id)
    await mailbox.deliver()
    absence = await away(client, admin, marco.id, ends_at=days_from_now(3), backup_id=anna.id)
    await set_active(client, admin, luca.id, False)
    await scheduler.run_once()
    await mailbox.deliver()
    await end_absence(client, admin, marco.id, absence["id"])

    await scheduler.run_once()
    await mailbox.deliver()

    texts = "\n".join(mailbox.texts_to(customer.email))
    assert "Luca is no longer available; Anna is now handling your request." in texts
    assert "Marco is back and is handling your request again." in texts
    assert texts.count("Marco is away until") == 1
    assert texts.count("Marco is back") == 1
    assert datetime.now(UTC).year  # (keeps the import honest on New Year's Eve)


async def test_escalation_names_whom_it_went_to(
    client: AsyncClient,
    actors: Actors,
    sessionmaker: Maker,
    mailbox: Mailbox,
) -> None:
    customer, agent = await actors.customer(), await actors.agent()
    expert = await actors.make(Role.AGENT, name="Sara")
    second = await make_team(
        sessionmaker,
        name="Second line",
        member_ids=[expert.id],
        assignment=AssignmentMode.ROUND_ROBIN,
    )
    ticket = await file_ticket(client, customer)
    await assign(client, agent, ticket["id"], agent.id)
    await mailbox.deliver()

    await client.post(
        f"{API}/tickets/{ticket['id']}/escalate",
        json={"team_id": second, "note": "Database corruption suspected"},
        headers=agent.headers,
    )
    await mailbox.deliver()

    latest = mailbox.texts_to(customer.email)[-1]
    assert "Your case was escalated to Second line; Sara is now handling it." in latest
    assert "Database corruption" not in latest
