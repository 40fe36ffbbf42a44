"""Running Alembic from the service: upgrade to head, and where the database stands."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

REPO_ROOT = Path(__file__).resolve().parent.parent
# Where a built wheel carries alembic.ini and the migrations (pyproject.toml's
# force-include); a development checkout has them at the repository root instead.
PACKAGED = Path(__file__).resolve().parent / "_migrations"


def migrations_home() -> Path:
    """The folder holding alembic.ini and the migration scripts."""
    for candidate in (PACKAGED, REPO_ROOT):
        if (candidate / "alembic.ini").is_file() and (candidate / "migrations").is_dir():
            return candidate
    raise FileNotFoundError(
        f"no alembic.ini with migrations/ in {PACKAGED} or {REPO_ROOT}: a broken install"
    )


def alembic_config(database_url: str) -> Config:
    home = migrations_home()
    config = Config(str(home / "alembic.ini"))
    config.set_main_option("script_location", str(home / "migrations"))
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
