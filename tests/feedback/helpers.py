"""Feedback test helpers: small typed calls to the API, each asserting only its success.

Tests that check a failure make the raw request themselves (and `assert_problem` it).
"""

from __future__ import annotations

import itertools
import re
from email.message import EmailMessage
from typing import Any

from httpx import AsyncClient, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.feedback.config import FeedbackConfig
from app.feedback.tokens import survey_token
from app.models import Role, SatisfactionSurvey, TicketEvent
from tests.factories import Actor

JSON = dict[str, Any]
Maker = async_sessionmaker[AsyncSession]
API = "/api/v1"
_numbers = itertools.count(1)
_LINK = re.compile(r"http://127\.0\.0\.1:8000(/api/v1/surveys/sv_[A-Za-z0-9_-]+)")


def expect(response: Response, status: int) -> JSON:
    assert response.status_code == status, response.text
    body: JSON = response.json()
    return body


async def file_ticket(
    client: AsyncClient, actor: Actor, *, for_customer: Actor | None = None, **fields: Any
) -> JSON:
    body: JSON = {"subject": "Printer on fire", "description": "Smoke everywhere.", **fields}
    if actor.role is not Role.CUSTOMER:
        if for_customer is not None:
            body["requester_id"] = for_customer.id
        else:
            body["requester"] = {"email": f"someone{next(_numbers)}@customers.example"}
    return expect(await client.post(f"{API}/tickets", json=body, headers=actor.headers), 201)


async def move(client: AsyncClient, actor: Actor, ticket_id: int, status: str) -> JSON:
    response = await client.post(
        f"{API}/tickets/{ticket_id}/status", json={"status": status}, headers=actor.headers
    )
    return expect(response, 200)


async def assign(client: AsyncClient, actor: Actor, ticket_id: int, owner_id: int) -> JSON:
    response = await client.post(
        f"{API}/tickets/{ticket_id}/assign",
        json={"owner_id": owner_id, "reason": "manual"},
        headers=actor.headers,
    )
    return expect(response, 200)


async def resolved_ticket(
    client: AsyncClient, customer: Actor, agent: Actor, *, team_id: int | None = None
) -> JSON:
    """A ticket the customer filed, owned by the agent, and resolved by them."""
    ticket = await file_ticket(client, customer)
    if team_id is not None:
        response = await client.patch(
            f"{API}/tickets/{ticket['id']}", json={"team_id": team_id}, headers=agent.headers
        )
        expect(response, 200)
    await assign(client, agent, ticket["id"], agent.id)
    return await move(client, agent, ticket["id"], "resolved")


async def survey_path(maker: Maker, ticket_id: int) -> str:
    """The link path of the ticket's latest survey, derived the way the email is written."""
    async with maker() as session:
        survey = await session.scalar(
            select(SatisfactionSurvey)
            .where(SatisfactionSurvey.ticket_id == ticket_id)
            .order_by(SatisfactionSurvey.resolution.desc())
            .limit(1)
        )
    assert survey is not None
    token = survey_token(FeedbackConfig.secret, ticket_id, survey.resolution, survey.token_nonce)
    return f"{API}/surveys/{token}"


def link_in(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    found = _LINK.search(str(part.get_content()))
    assert found is not None, part.get_content()
    return found.group(1)


async def file_feedback(client: AsyncClient, actor: Actor, **body: Any) -> JSON:
    body.setdefault("kind", "suggestion")
    body.setdefault("body", "Please add a dark mode to the portal.")
    response = await client.post(f"{API}/feedback", json=body, headers=actor.headers)
    return expect(response, 201)


async def feedback_step(
    client: AsyncClient, actor: Actor, feedback_id: int, status: str, response: str | None = None
) -> Response:
    body: JSON = {"status": status}
    if response is not None:
        body["public_response"] = response
    return await client.post(
        f"{API}/feedback/{feedback_id}/status", json=body, headers=actor.headers
    )


async def events_of(maker: Maker, ticket_id: int, kind: str) -> list[TicketEvent]:
    async with maker() as session:
        rows = await session.scalars(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == kind)
            .order_by(TicketEvent.id)
        )
        return list(rows)
