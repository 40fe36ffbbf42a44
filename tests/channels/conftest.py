"""A real HTTP receiver for connector webhooks, and the delivery worker that sends to it."""

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from app.config import Settings
from app.main import create_app
from tests.live.conftest import live_server
from tests.webhooks.conftest import (
    hook_app,
    hook_client,
    http,
    make_hook_worker,
    receiver,
    worker,
)

AUTH_TOKEN = "0123456789abcdef0123456789abcdef"
PUBLIC_BASE = "https://desk.example.com"
DESK_NUMBER = "+15005550006"


@pytest.fixture(scope="session")
def hook_settings(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A service next to a local receiver (webhooks, an SMS provider), behind a proxy
    whose public address is not the one requests arrive at."""
    return settings.model_copy(
        update={
            "webhook_allowed_hosts": ["127.0.0.1"],
            "webhook_timeout_seconds": 1.0,
            "data_dir": tmp_path_factory.mktemp("channels"),
            "sms_auth_token": SecretStr(AUTH_TOKEN),
            "sms_account_sid": "ACtest",
            "sms_from": DESK_NUMBER,
            "public_base_url": PUBLIC_BASE,
        }
    )


__all__ = [
    "hook_app",
    "hook_client",
    "hook_settings",
    "http",
    "live_server",
    "make_hook_worker",
    "receiver",
    "worker",
]


@pytest.fixture
async def other_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """A second instance of the service, with its own event hub and LISTEN connection:
    another process, as far as anything shared goes."""
    other = create_app(settings)
    async with other.router.lifespan_context(other):
        yield other
