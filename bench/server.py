"""Driving the service under test through its own command line: migrate, admin, serve."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

import httpx

REPO = Path(__file__).resolve().parent.parent
LOG_DIR = REPO / "var" / "bench"


def helpdesk_command() -> str:
    """The `helpdesk` script next to the running interpreter (.venv/bin/helpdesk)."""
    candidate = Path(sys.executable).parent / "helpdesk"
    if candidate.exists():
        return str(candidate)
    return str(REPO / ".venv" / "bin" / "helpdesk")


def _env(url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["HELPDESK_DATABASE_URL"] = url
    env.update(extra or {})
    return env


def migrate(url: str, command: str | None = None) -> None:
    subprocess.run(  # noqa: S603 - our own command line
        [command or helpdesk_command(), "migrate"], env=_env(url), check=True, cwd=REPO
    )


def create_admin(url: str, email: str, name: str, command: str | None = None) -> str:
    """Create an admin and return its token (the last line `create-admin` prints)."""
    done = subprocess.run(  # noqa: S603
        [command or helpdesk_command(), "create-admin", "--email", email, "--name", name],
        env=_env(url),
        check=True,
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip().splitlines()[-1]


class Server:
    """`helpdesk serve` as a child process, in its own process group; stopped on exit.

    `command` runs another checkout's `helpdesk` (the before/after benchmark);
    `ready_path` is where it is ready (`/healthz` for a commit older than the schema,
    whose /readyz says migrations are pending)."""

    def __init__(
        self,
        url: str,
        *,
        port: int = 8765,
        workers: int = 2,
        env: dict[str, str] | None = None,
        command: str | None = None,
        ready_path: str = "/readyz",
    ) -> None:
        self.url = url
        self.ready_path = ready_path
        self.command = command or helpdesk_command()
        self.port = port
        self.workers = workers
        self.env = env or {}
        self.base_url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.data_dir: str | None = None
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / f"server-{port}.log"

    def start(self, timeout: float = 60.0) -> None:
        # Local state (the file mailbox that notifications are delivered to when no
        # SMTP server is configured) goes to a scratch directory, not the repo's var/.
        self.data_dir = tempfile.mkdtemp(prefix="helpdesk-bench-")
        log = self.log_path.open("wb")
        command = [
            self.command,
            "serve",
            "--workers",
            str(self.workers),
            "--port",
            str(self.port),
            "--no-migrate",
        ]
        self.process = subprocess.Popen(  # noqa: S603
            command,
            env=_env(
                self.url,
                {"HELPDESK_LOG_LEVEL": "warning", "HELPDESK_DATA_DIR": self.data_dir, **self.env},
            ),
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the server exited with {self.process.returncode}; see {self.log_path}"
                )
            try:
                # Both workers must be up: readyz answers from whichever accepts.
                if httpx.get(self.base_url + self.ready_path, timeout=2).status_code == 200:
                    time.sleep(1.0)
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(
            f"the server did not become ready in {timeout:.0f} s; see {self.log_path}"
        )

    def pids(self) -> list[int]:
        """The supervisor and its worker processes (for CPU accounting)."""
        if self.process is None:
            return []
        pids = [self.process.pid]
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        with contextlib.suppress(OSError):
            pids += [int(p) for p in children.read_text().split()]
        return pids

    def stop(self, timeout: float = 20.0) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                # The group is the one start_new_session made for this child alone.
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        if self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = None

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.stop()
