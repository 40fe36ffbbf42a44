from pathlib import Path

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from tests.factories import Actors


async def test_me_returns_the_caller(client: AsyncClient, actors: Actors) -> None:
    admin = await actors.admin()
    response = await client.get("/api/v1/me", headers=admin.headers)
    assert response.status_code == 200, response.text
    assert response.json()["email"] == admin.email


async def test_service_connections_never_compile_plans_with_jit(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        assert await session.scalar(text("SHOW jit")) == "off"


def test_the_suite_keeps_mail_out_of_the_development_mailbox(settings: Settings) -> None:
    development = (Path(__file__).resolve().parents[2] / "var").resolve()
    assert not settings.mailbox_dir.resolve().is_relative_to(development)
