"""The `helpdesk` command: serve, migrate, worker-free admin tasks.

Expected failures (database unreachable, port in use, bad URL or settings) print one
line to stderr and exit 1; a traceback means a bug.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import ValidationError
from pydantic_settings import SettingsError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from app.config import Settings

LIVE_WEBSOCKET_PROTOCOL = "app.live.protocol:LiveWebSocketProtocol"


class CommandError(Exception):
    """An expected failure, reported as one line."""


def _load_settings() -> Settings:
    try:
        return Settings()
    except SettingsError as exc:
        raise CommandError(f"invalid settings: {exc}") from None
    except ValidationError as exc:
        problems = "; ".join(
            ("HELPDESK_" + "_".join(str(p) for p in e["loc"]).upper() + ": " if e["loc"] else "")
            + e["msg"].removeprefix("Value error, ")
            for e in exc.errors()
        )
        raise CommandError(f"invalid settings: {problems}") from None


def _describe(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def _database_url(settings: Settings) -> str:
    """The configured server, or the embedded one started (or joined) for this process."""
    if settings.database_url:
        try:
            make_url(settings.database_url)
        except ArgumentError:
            raise CommandError("HELPDESK_DATABASE_URL is not a valid database URL") from None
        return settings.database_url
    from app import embedded_db

    try:
        return embedded_db.start(settings.postgres_data_dir)
    except embedded_db.EmbeddedPostgresError as exc:
        raise CommandError(str(exc)) from None


def _check_database(url: str, search_config: str | None = None) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    async def probe() -> bool:
        engine = create_async_engine(url, connect_args={"timeout": 5})
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
                if search_config is None:
                    return True
                found = await connection.scalar(
                    text("SELECT 1 FROM pg_ts_config WHERE cfgname = :name"),
                    {"name": search_config},
                )
                return found is not None
        finally:
            await engine.dispose()

    try:
        config_exists = asyncio.run(probe())
    except Exception as exc:
        reason = (
            str(getattr(exc, "orig", None) or exc).splitlines()[0]
            if str(exc)
            else type(exc).__name__
        )
        raise CommandError(f"cannot reach the database at {_describe(url)}: {reason}") from None
    if not config_exists:
        raise CommandError(
            f"HELPDESK_SEARCH_CONFIG={search_config!r} is not a text search configuration "
            "of this PostgreSQL (try simple, english or italian)"
        )


def _migrate(url: str) -> None:
    from app.migrations import upgrade_to_head

    try:
        upgrade_to_head(url)
    except Exception as exc:
        raise CommandError(f"migration failed on {_describe(url)}: {exc}") from None


def _check_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise CommandError(f"port {port} on {host} is already in use") from None
            raise CommandError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def cmd_serve(args: argparse.Namespace) -> None:
    settings = _load_settings()
    _check_port_free(args.host, args.port)
    url = _database_url(settings)
    _check_database(url, settings.search_config)
    if not args.no_migrate:
        _migrate(url)
    # Worker processes read their settings from the environment: hand them the
    # resolved URL so they join this database instead of starting their own.
    os.environ["HELPDESK_DATABASE_URL"] = url
    if "public_base_url" not in settings.model_fields_set:
        # Links in emails point at this server unless told where customers reach it.
        os.environ["HELPDESK_PUBLIC_BASE_URL"] = _own_base_url(args.host, args.port)
    metrics_dir = _prepare_metrics_dir()
    background = None
    if not args.inline_background and (
        settings.notification_workers > 0
        or settings.continuity_scheduler
        or settings.sla_watcher
        or settings.inbound_smtp_port
        or settings.inbound_imap
    ):
        background = BackgroundProcess(nice=args.background_nice)
        background.start()
        # The API workers read these from the environment: the child does that work.
        os.environ["HELPDESK_NOTIFICATION_WORKERS"] = "0"
        os.environ["HELPDESK_CONTINUITY_SCHEDULER"] = "false"
        os.environ["HELPDESK_SLA_WATCHER"] = "false"
        os.environ["HELPDESK_INBOUND_SMTP_PORT"] = "0"
        os.environ["HELPDESK_INBOUND_IMAP"] = "false"
    try:
        _run_uvicorn(args, settings, url)
    finally:
        if background is not None:
            background.stop()
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _own_base_url(host: str, port: int) -> str:
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - naming the wildcard, not binding it
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _prepare_metrics_dir() -> Path | None:
    """Where every process of this service writes its Prometheus samples.

    A fresh private folder unless PROMETHEUS_MULTIPROC_DIR names one (emptied: samples
    of a previous run would be added to this one's). Returns the folder to remove at
    exit, if we made it."""
    configured = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if configured:
        folder = Path(configured)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink(missing_ok=True)
        return None
    made = Path(tempfile.mkdtemp(prefix="helpdesk-metrics-"))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(made)
    return made


def _run_uvicorn(args: argparse.Namespace, settings: Settings, url: str) -> None:
    import uvicorn

    # uvicorn shuts down gracefully, then re-raises the signal it caught. With the
    # default SIGTERM action that kills us before atexit stops the embedded PostgreSQL;
    # exiting through SystemExit instead lets it stop cleanly.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    from app.observability.logs import log_config

    print(f"helpdesk: serving on http://{args.host}:{args.port} (database {_describe(url)})")
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=settings.log_level,
        log_config=log_config(settings),
        # The service logs each request itself, with its id (app/observability).
        access_log=False,
        proxy_headers=args.proxy_headers,
        # uvicorn's websockets sans-I/O protocol, trimmed for many idle sockets and with
        # TCP_USER_TIMEOUT (see app/live/protocol.py and bench/LIVE.md).
        ws=LIVE_WEBSOCKET_PROTOCOL,
        ws_max_size=settings.ws_max_message_bytes,
        # Off by default: compression costs CPU on every fan-out; when on, it runs
        # without context takeover so idle sockets keep no zlib state.
        ws_per_message_deflate=settings.ws_per_message_deflate,
    )


def cmd_migrate(_args: argparse.Namespace) -> None:
    url = _database_url(_load_settings())
    _check_database(url)
    _migrate(url)
    print(f"helpdesk: database {_describe(url)} is at the latest migration")


def cmd_create_admin(args: argparse.Namespace) -> None:
    from app.people.bootstrap import create_admin, validate_admin

    try:
        validate_admin(email=args.email, name=args.name)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    url = _database_url(_load_settings())
    _check_database(url)
    _migrate(url)
    try:
        token = asyncio.run(create_admin(url, email=args.email, name=args.name))
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    print(f"Admin {args.email.lower()} created. Their API token (shown only this once):")
    print(token)


def cmd_worker(args: argparse.Namespace) -> None:
    from app.worker_process import run_workers

    settings = _load_settings()
    _configure_logging(settings)
    url = _database_url(settings)
    _check_database(url)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    print(f"helpdesk: {args.count} delivery worker(s) on {_describe(url)}")
    asyncio.run(run_workers(settings, url, args.count))


def cmd_metrics_rebuild(_args: argparse.Namespace) -> None:
    from app.metrics.backfill import rebuild_database

    settings = _load_settings()
    url = _database_url(settings)
    _check_database(url)
    _migrate(url)
    folded = asyncio.run(rebuild_database(settings, url))
    print(f"helpdesk: {folded} ticket(s) filed before the metrics existed folded into them")


class BackgroundProcess:
    """`helpdesk background` as a child of `serve`, restarted if it dies.

    Its own session, so a Ctrl+C to the terminal reaches `serve`, which then stops it
    in order (before an embedded PostgreSQL it uses goes away)."""

    def __init__(self, *, nice: int) -> None:
        self.nice = nice
        # Taken now, before `serve` tells its API workers to leave this work to us.
        self._env = dict(os.environ)
        self._process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._supervise, daemon=True, name="background")

    def start(self) -> None:
        self._thread.start()

    def _supervise(self) -> None:
        command = [sys.executable, "-m", "app.cli", "background", "--nice", str(self.nice)]
        while not self._stopping.is_set():
            self._process = subprocess.Popen(  # noqa: S603 - our own command line
                command, env=self._env, start_new_session=True
            )
            code = self._process.wait()
            if not self._stopping.wait(1.0):
                print(f"helpdesk: background process exited ({code}); restarting", file=sys.stderr)

    def stop(self) -> None:
        self._stopping.set()
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        self._thread.join(timeout=5)


def cmd_background(args: argparse.Namespace) -> None:
    from app.background import run_background

    settings = _load_settings()
    _configure_logging(settings)
    url = _database_url(settings)
    _check_database(url)
    if args.nice:
        _lower_priority(args.nice)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    asyncio.run(run_background(settings, url))


def _configure_logging(settings: Settings) -> None:
    from app.observability.logs import configure_logging

    configure_logging(settings)


def cmd_mail_receiver(_args: argparse.Namespace) -> None:
    from app.worker_process import run_mail_receiver

    settings = _load_settings()
    if not settings.inbound_smtp_port and not settings.inbound_imap:
        raise CommandError(
            "nothing to receive: set HELPDESK_INBOUND_SMTP_PORT, or HELPDESK_INBOUND_IMAP=true"
        )
    if settings.inbound_smtp_port:
        _check_port_free(settings.inbound_smtp_host, settings.inbound_smtp_port)
    url = _database_url(settings)
    _check_database(url)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    where = (
        f"SMTP on {settings.inbound_smtp_host}:{settings.inbound_smtp_port}"
        if settings.inbound_smtp_port
        else "no SMTP"
    )
    print(f"helpdesk: receiving mail ({where}; IMAP {'on' if settings.inbound_imap else 'off'})")
    asyncio.run(run_mail_receiver(settings, url))


def _lower_priority(nice: int) -> None:
    """Nice this process, and its scheduling group too. With autogroup scheduling (the
    default on most Linux desktops and servers) each session is one group, groups share
    the CPUs fairly whatever their processes' niceness, and this process leads its own
    session: os.nice alone would still have it take a third of the CPUs away from the
    API workers during a burst (measured: 26% of two cores). The group's niceness is set
    through /proc/self/autogroup, where the kernel has it."""
    os.nice(nice)
    with contextlib.suppress(OSError):
        Path("/proc/self/autogroup").write_text(str(nice))


def cmd_openapi(args: argparse.Namespace) -> None:
    from app.openapi_export import render_openapi

    text = render_openapi()
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text)
        print(f"helpdesk: wrote {args.output}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="helpdesk",
        description="Helpdesk service. Settings come from HELPDESK_* environment variables "
        "(see README); with no HELPDESK_DATABASE_URL an embedded PostgreSQL is used.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="run the HTTP API (migrates the database first)",
        description="Run the HTTP and WebSocket API. Applies pending migrations first "
        "unless --no-migrate is given.",
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default %(default)s)"
    )
    serve.add_argument(
        "--port", type=int, default=8000, help="port to listen on (default %(default)s)"
    )
    serve.add_argument(
        "--workers", type=int, default=1, help="worker processes (default %(default)s)"
    )
    serve.add_argument("--no-migrate", action="store_true", help="do not apply migrations on start")
    serve.add_argument(
        "--proxy-headers", action="store_true", help="trust X-Forwarded-* from a reverse proxy"
    )
    serve.add_argument(
        "--inline-background",
        action="store_true",
        help="run the absence scheduler and delivery workers inside the API workers "
        "instead of in a child process",
    )
    serve.add_argument(
        "--background-nice",
        type=int,
        default=10,
        help="CPU niceness of the background child process (default %(default)s)",
    )
    serve.set_defaults(handler=cmd_serve)

    background = commands.add_parser(
        "background",
        help="run the absence scheduler and delivery workers without the HTTP API",
        description="What `serve` runs in a child process: the continuity scheduler (one "
        "process at a time leads) and HELPDESK_NOTIFICATION_WORKERS delivery workers.",
    )
    background.add_argument("--nice", type=int, default=0, help="lower the CPU priority by this")
    background.set_defaults(handler=cmd_background)

    migrate = commands.add_parser(
        "migrate",
        help="apply pending database migrations and exit",
        description="Apply every pending Alembic migration to the configured database.",
    )
    migrate.set_defaults(handler=cmd_migrate)

    admin = commands.add_parser(
        "create-admin",
        help="create an admin user and print an API token once",
        description="Create the first (or another) admin and print a new API token for them. "
        "The token is shown only once; store it safely.",
    )
    admin.add_argument("--email", required=True, help="the admin's email address")
    admin.add_argument("--name", required=True, help="the admin's display name")
    admin.set_defaults(handler=cmd_create_admin)

    worker = commands.add_parser(
        "worker",
        help="run notification delivery workers without the HTTP API",
        description="Send email, SMS and webhook deliveries from the outbox. `serve` runs "
        "HELPDESK_NOTIFICATION_WORKERS of these itself; run more here to scale out.",
    )
    worker.add_argument("--count", type=int, default=1, help="workers in this process")
    worker.set_defaults(handler=cmd_worker)

    receiver = commands.add_parser(
        "mail-receiver",
        help="receive mail (SMTP/LMTP receiver, IMAP pollers) without the HTTP API",
        description="The SMTP/LMTP receiver on HELPDESK_INBOUND_SMTP_HOST:PORT and the IMAP "
        "pollers of the configured mailboxes (HELPDESK_INBOUND_IMAP), on their own. "
        "`serve` runs them in its background process.",
    )
    receiver.set_defaults(handler=cmd_mail_receiver)

    metrics = commands.add_parser("metrics", help="maintain the metrics' figures")
    rebuild = metrics.add_subparsers(dest="action", required=True, metavar="ACTION").add_parser(
        "rebuild",
        help="fold every ticket without figures (filed before the metrics existed)",
        description="Fold the timeline of every ticket without metrics facts, 500 a "
        "transaction, safe while the desk runs (as the background process does at start).",
    )
    rebuild.set_defaults(handler=cmd_metrics_rebuild)

    openapi = commands.add_parser(
        "openapi",
        help="write the OpenAPI document generated from the app",
        description="Write the OpenAPI document (the committed openapi/openapi.json).",
    )
    openapi.add_argument("--output", default="openapi/openapi.json", help="file, or - for stdout")
    openapi.set_defaults(handler=cmd_openapi)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], None] = args.handler
    try:
        handler(args)
    except CommandError as exc:
        print(f"helpdesk: error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
