"""Running Alembic from the service: upgrade to head, and where the database stands."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

REPO_ROOT = Path(__file__).resolve().parent.parent


def alembic_config(database_url: str) -> Config:
    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(REPO_ROOT / "migrations"))
    config.attributes["database_url"] = database_url
    return config


def upgrade_to_head(database_url: str) -> None:
    """Apply every pending migration. Blocking: call from a thread or the command line."""
    command.upgrade(alembic_config(database_url), "head")


def head_revision() -> str | None:
    """The revision(s) this code expects, as one comparable string."""
    script = ScriptDirectory.from_config(alembic_config("postgresql+asyncpg://unused"))
    return ",".join(sorted(script.get_heads())) or None


def current_revision(connection: Connection) -> str | None:
    heads = MigrationContext.configure(connection).get_current_heads()
    return ",".join(sorted(heads)) or None
