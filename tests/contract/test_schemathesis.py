"""schemathesis against a served `helpdesk serve`, over the spec it serves: every phase
(examples, coverage, fuzzing, stateful through the document's links) and every check.
A short run (five examples per operation); `SCHEMATHESIS_MAX_EXAMPLES` makes it longer.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import asyncpg
import pytest

from app.auth.tokens import hash_token, mint_token
from app.db import asyncpg_connect_args
from app.migrations import upgrade_to_head
from tests import database
from tests.contract.schemathesis_hooks import FUZZER_ID, SMS_AUTH_TOKEN, SMS_WEBHOOK_BASE_URL
from tests.service_process import serving

CONFIG = Path(__file__).with_name("schemathesis.toml")
HOOKS = "tests.contract.schemathesis_hooks"
REPO = Path(__file__).resolve().parents[2]
# FUZZER_ID is far from the ids a fuzzer tries (1, 2, boundaries), so that it does not
# deactivate or revoke its own credentials halfway and test nothing but 401s afterwards;
# the hooks keep it from doing so with the ids it learns from answers.


# Every operation, every phase: about 40 s on a quiet two-core machine, several times
# that when the machine is shared; the subprocess has its own 300 s limit.
@pytest.mark.timeout(360)
async def test_schemathesis_finds_nothing(tmp_path: Path) -> None:
    url = await database.create_database(await asyncio.to_thread(database.server_url))
    try:
        await asyncio.to_thread(upgrade_to_head, url)
        token = await _fuzzing_admin(url)
        env = {
            "HELPDESK_DATABASE_URL": url,
            "HELPDESK_DATA_DIR": str(tmp_path),
            "HELPDESK_RATE_LIMIT_PER_MINUTE": "10000000",
            "HELPDESK_NOTIFICATION_WORKERS": "0",
            "HELPDESK_CONTINUITY_SCHEDULER": "false",
            "HELPDESK_SLA_WATCHER": "false",
            "HELPDESK_LOG_LEVEL": "warning",
            "HELPDESK_SMS_AUTH_TOKEN": SMS_AUTH_TOKEN,
            "HELPDESK_SMS_WEBHOOK_BASE_URL": SMS_WEBHOOK_BASE_URL,
        }
        async with serving(env, tmp_path / "serve.log") as base_url:
            output, code = await _schemathesis(base_url, token, tmp_path)
    finally:
        await database.drop_database(url)

    assert code == 0, output[-6000:]
    assert "Authentication failed" not in output, output[-3000:]
    assert "passed" in output


async def _fuzzing_admin(url: str) -> str:
    secret = mint_token()
    connection = await asyncpg.connect(**asyncpg_connect_args(url))
    try:
        await connection.execute(
            "INSERT INTO users (id, email, name, role) OVERRIDING SYSTEM VALUE "
            "VALUES ($1, 'fuzzer@example.com', 'Fuzzer', 'admin')",
            FUZZER_ID,
        )
        await connection.execute(
            "INSERT INTO api_tokens (id, user_id, name, token_hash) OVERRIDING SYSTEM VALUE "
            "VALUES ($1, $1, 'schemathesis', $2)",
            FUZZER_ID,
            hash_token(secret),
        )
    finally:
        await connection.close()
    return secret


async def _schemathesis(base_url: str, token: str, workdir: Path) -> tuple[str, int]:
    examples = os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "5")
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file",
        str(CONFIG),
        "run",
        f"{base_url}/api/v1/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        "all",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        examples,
        "--seed",
        "20261205",
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--no-color",
        cwd=workdir,
        env={**os.environ, "SCHEMATHESIS_HOOKS": HOOKS, "PYTHONPATH": str(REPO)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    stdout, _ = await asyncio.wait_for(process.communicate(), timeout=300)
    assert process.returncode is not None
    return stdout.decode(errors="replace"), process.returncode
