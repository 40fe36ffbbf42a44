"""The database schema: migrations and models agree, and migrations are reversible."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from app.migrations import alembic_config, upgrade_to_head
from app.models import Base
from app.openapi_export import render_openapi
from tests import database

REPO_ROOT = Path(__file__).resolve().parents[2]


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(context, Base.metadata))


async def test_models_match_the_migrations(database_url: str) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(_differences)
    finally:
        await engine.dispose()
    assert differences == [], "models and migrations disagree; write a migration"


def test_the_migrations_form_one_line() -> None:
    # Two heads would let each deployment apply branches in its own order; a new
    # migration must revise the newest one.
    script = ScriptDirectory.from_config(alembic_config("postgresql+asyncpg://unused"))
    assert len(script.get_heads()) == 1, f"several heads: {script.get_heads()}"


async def test_every_migration_downgrades_and_upgrades_again(database_url: str) -> None:
    scratch = await database.create_database(database_url)
    try:
        config = alembic_config(scratch)
        await asyncio.to_thread(upgrade_to_head, scratch)
        await asyncio.to_thread(command.downgrade, config, "base")
        await asyncio.to_thread(upgrade_to_head, scratch)
    finally:
        await database.drop_database(scratch)


def test_committed_openapi_matches_the_app() -> None:
    committed = (REPO_ROOT / "openapi" / "openapi.json").read_text()
    assert committed == render_openapi(), "openapi/openapi.json is stale: run `make openapi`"
