"""Small typed factories: people with tokens, made through the real services."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.service import issue_bootstrap_token
from app.models import Role, User

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
