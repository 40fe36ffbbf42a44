"""A real HTTP receiver on a free loopback port, an app allowed to target it, and workers.

The session `app` keeps the default policy (no private targets), so the SSRF refusals
are tested against it; `hook_app` is the same service with loopback allowed, the way an
operator would run it next to a local receiver.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.main import create_app
from app.notifications.setup import make_worker
from app.notifications.worker import DeliveryWorker
from tests.live.conftest import free_port
from tests.webhooks.helpers import Receiver


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    app = Receiver()
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, lifespan="off", log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no "started" event
        await asyncio.sleep(0.01)
    app.base_url = f"http://127.0.0.1:{port}"
    try:
        yield app
    finally:
        app.release()
        server.should_exit = True
        await task


@pytest.fixture(scope="session")
def hook_settings(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return settings.model_copy(
        update={
            "webhook_allowed_hosts": ["127.0.0.1"],
            "webhook_timeout_seconds": 1.0,
            "data_dir": tmp_path_factory.mktemp("webhooks"),
        }
    )


@pytest.fixture(scope="session")
async def hook_app(hook_settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(hook_settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def hook_client(hook_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=hook_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """What `helpdesk worker` gives the channels: no redirects followed."""
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0), follow_redirects=False) as client:
        yield client


@pytest.fixture
def make_hook_worker(
    hook_settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    database_url: str,
    http: httpx.AsyncClient,
) -> Callable[..., DeliveryWorker]:
    def build(**overrides: Any) -> DeliveryWorker:
        worker_settings = hook_settings.model_copy(update=overrides)
        return make_worker(worker_settings, sessionmaker, database_url, http)

    return build


@pytest.fixture
def worker(make_hook_worker: Callable[..., DeliveryWorker]) -> DeliveryWorker:
    return make_hook_worker()


@pytest.fixture
def mailbox(hook_settings: Settings) -> Path:
    return hook_settings.mailbox_dir
