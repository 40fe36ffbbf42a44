"""Small typed factories: people with tokens, made through the real services."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from httpx import AsyncClient, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.service import issue_bootstrap_token
from app.models import AssignmentMode, Role, User
from app.people.schemas import TeamCreate
from app.people.service import create_team

_sequence = itertools.count(1)


@dataclass(frozen=True)
class Actor:
    """A user and a token for them, ready to make requests."""

    id: int
    email: str
    name: str
    role: Role
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Actors:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], client: AsyncClient) -> None:
        self._sessionmaker = sessionmaker
        self.client = client

    async def make(self, role: Role, *, name: str | None = None, email: str | None = None) -> Actor:
        n = next(_sequence)
        name = name or f"{role.value.title()} {n}"
        email = email or f"{role.value}{n}@example.com"
        async with self._sessionmaker() as session, session.begin():
            user = User(email=email, name=name, role=role)
            session.add(user)
            await session.flush()
            token = await issue_bootstrap_token(session, user, "test")
        return Actor(user.id, email, name, role, token)

    async def admin(self) -> Actor:
        return await self.make(Role.ADMIN)

    async def supervisor(self) -> Actor:
        return await self.make(Role.SUPERVISOR)

    async def agent(self) -> Actor:
        return await self.make(Role.AGENT)

    async def customer(self) -> Actor:
        return await self.make(Role.CUSTOMER)

    async def integration(self) -> Actor:
        return await self.make(Role.INTEGRATION)


PROBLEM_FIELDS = frozenset({"type", "title", "status", "detail", "instance"})


def assert_problem(response: Response, status: int) -> dict[str, Any]:
    """Assert `response` is an RFC 9457 problem with `status`; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body.keys() >= PROBLEM_FIELDS, body
    assert body["status"] == status
    assert body["instance"] == response.request.url.path
    return body


async def make_team(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    name: str | None = None,
    member_ids: Sequence[int] = (),
    assignment: AssignmentMode = AssignmentMode.MANUAL,
) -> int:
    """A team made through the real service; returns its id."""
    data = TeamCreate(
        name=name or f"Team {next(_sequence)}", member_ids=list(member_ids), assignment=assignment
    )
    async with sessionmaker() as session, session.begin():
        team = await create_team(session, data)
        return team.id
