"""Database URLs and connections for the benchmark tools."""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

import asyncpg

DEFAULT_BENCH_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/helpdesk_bench"


def bench_database_url() -> str:
    """The SQLAlchemy-style URL of the benchmark database (what the service is given)."""
    return os.environ.get("HELPDESK_BENCH_DATABASE_URL") or DEFAULT_BENCH_URL


def asyncpg_dsn(url: str) -> str:
    """`postgresql+asyncpg://...` (the service's form) as a plain libpq URL for asyncpg."""
    scheme, rest = url.split("://", 1)
    if scheme not in ("postgresql", "postgres", "postgresql+asyncpg"):
        raise ValueError(f"not a PostgreSQL URL: {scheme}://...")
    return "postgresql://" + rest


def database_name(url: str) -> str:
    return urlsplit(asyncpg_dsn(url)).path.lstrip("/") or "postgres"


def with_database(url: str, name: str) -> str:
    parts = urlsplit(asyncpg_dsn(url))
    return urlunsplit(parts._replace(path="/" + name))


async def connect(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(asyncpg_dsn(url))


async def ensure_database(url: str) -> bool:
    """Create the database if it does not exist; True if it was created."""
    name = database_name(url)
    admin = await asyncpg.connect(with_database(url, "postgres"))
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists:
            return False
        quoted = '"' + name.replace('"', '""') + '"'
        await admin.execute(f"CREATE DATABASE {quoted}")
        return True
    finally:
        await admin.close()
