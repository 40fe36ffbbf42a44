"""The application factory: routers, error handlers, middleware and the lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.types import Scope

from app import wiring
from app.alerts.evaluate import evaluate_all
from app.alerts.router import router as alerts_router
from app.attachments.setup import store_from_settings
from app.auth.cache import TokenCache
from app.auth.rate_limit import SharedRateLimiter
from app.auth.router import router as tokens_router
from app.bulk.router import router as bulk_router
from app.calls.router import router as calls_router
from app.chats.router import router as chats_router
from app.common.bodies import add_body_models
from app.common.openapi import use_problem_media_type
from app.common.periodic import every
from app.common.spec import finish as finish_spec
from app.config import Settings, get_settings
from app.continuity.router import router as continuity_router
from app.continuity.scheduler import ContinuityScheduler
from app.conversations.files import router as files_router
from app.conversations.router import router as conversations_router
from app.db import asyncpg_connect_args, create_engine
from app.errors import install_error_handlers
from app.events.reactions import Reactions
from app.events.router import router as events_router
from app.feedback.router import router as feedback_router
from app.feedback.setup import install as install_feedback
from app.health.router import router as health_router
from app.idempotency.cleanup import purge_expired
from app.idempotency.guard import IdempotentReplay, replay_response
from app.identities.router import router as identities_router
from app.imports.router import router as imports_router
from app.inbound.channels_router import router as inbound_channels_router
from app.inbound.mailboxes.router import router as mailboxes_router
from app.inbound.router import router as inbound_router
from app.inbound.running import running_receivers
from app.inbound.setup import intakes
from app.live.hub import EventHub
from app.live.presence import REFRESH_SECONDS as PRESENCE_REFRESH_SECONDS
from app.live.presence import PresenceBook
from app.live.router import router as live_router
from app.merging.router import router as merging_router
from app.metrics.backfill import rebuild_in_background
from app.metrics.compaction import compact_all
from app.metrics.router import router as kpi_router
from app.middleware import GuardMiddleware, header
from app.migrations import head_revision
from app.notifications.router import router as notifications_router
from app.notifications.setup import running_workers
from app.observability import metrics as process_metrics
from app.observability import tracing
from app.observability.middleware import RequestContextMiddleware
from app.observability.router import keep_sampling
from app.observability.router import router as metrics_router
from app.people.router import router as people_router
from app.problems.router import router as problems_router
from app.signin.router import router as sign_in_router
from app.signin.setup import run_mailer
from app.sla.router import router as sla_router
from app.sla.watcher import raise_all
from app.tickets.router import _NotModified, not_modified
from app.tickets.router import router as tickets_router
from app.webhooks.router import router as webhooks_router

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
VERSION = "0.1.0"
# Allocations between young-generation collections (CPython default 700); see lifespan.
GC_YOUNG_THRESHOLD = 20_000
_SWAGGER_ASSETS = Path(fastapi_offline.__file__).parent / "static"


def _operation_id(route: APIRoute) -> str:
    # The function name: stable, unique, and what generated clients call the method.
    return route.name


async def resolve_database_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    from app import embedded_db  # only here: the embedded server is an optional extra

    return await asyncio.to_thread(embedded_db.start, settings.postgres_data_dir)


def create_app(settings: Settings | None = None, reactions: Reactions | None = None) -> FastAPI:
    """The service. `reactions` replaces the ones app/wiring.py lists (tests add theirs)."""
    settings = settings or get_settings()
    reactions = reactions or wiring.reactions()
    wiring.configure(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = await resolve_database_url(settings)
        engine = create_engine(settings, url)
        app.state.engine = engine
        app.state.sessionmaker = wiring.sessionmaker_for(engine, reactions)
        for line in reactions.describe():
            logger.info("reaction %s", line)
        app.state.rate_limiter = SharedRateLimiter(
            engine, settings.rate_limit_per_minute, settings.effective_rate_limit_burst
        )
        app.state.head_revision = head_revision()
        hub = EventHub(url, engine, settings.live_poll_interval_seconds)
        app.state.hub = hub
        await hub.start()
        app.state.presence = PresenceBook(app.state.sessionmaker)
        credentials = asyncio.create_task(
            app.state.token_cache.listen(asyncpg_connect_args(url)), name="credentials-listener"
        )
        workers = running_workers(
            settings, app.state.sessionmaker, url, settings.notification_workers
        )
        await workers.__aenter__()
        receivers = running_receivers(settings, app.state.sessionmaker, url)
        await receivers.__aenter__()
        maker = app.state.sessionmaker
        chores = [
            asyncio.create_task(keep_sampling(app), name="metrics-sampler"),
            asyncio.create_task(
                every(
                    PRESENCE_REFRESH_SECONDS,
                    app.state.presence.refresh,
                    "refreshing the staff on the live channel",
                ),
                name="live-presence",
            ),
            asyncio.create_task(
                every(
                    settings.idempotency_purge_interval_seconds,
                    lambda: purge_expired(maker),
                    "purging expired idempotency records",
                ),
                name="idempotency-purger",
            ),
        ]
        if settings.notification_workers > 0:
            # Sign-in links are minted where notifications are delivered.
            chores.append(
                asyncio.create_task(
                    run_mailer(maker, settings.notification_poll_interval_seconds),
                    name="sign-in-mailer",
                )
            )
        if settings.sla_watcher:
            chores.append(
                asyncio.create_task(
                    every(
                        settings.sla_check_interval_seconds,
                        lambda: raise_all(
                            maker, settings.sla_warning_ratio, settings.unowned_alert_after
                        ),
                        "the SLA watcher's pass",
                    ),
                    name="sla-watcher",
                )
            )
        if settings.metrics_compactor:
            chores.append(
                asyncio.create_task(
                    every(
                        settings.metrics_compact_interval_seconds,
                        lambda: compact_all(maker),
                        "compacting the metrics' rollups",
                    ),
                    name="metrics-compactor",
                )
            )
            chores.append(asyncio.create_task(rebuild_in_background(maker), name="metrics-rebuild"))
        if settings.alert_evaluator:
            chores.append(
                asyncio.create_task(
                    every(
                        settings.alert_check_interval_seconds,
                        lambda: evaluate_all(maker),
                        "the alert rules' pass",
                    ),
                    name="alert-evaluator",
                )
            )
        scheduler = None
        if settings.continuity_scheduler:
            scheduler = ContinuityScheduler(
                app.state.sessionmaker,
                url,
                interval=settings.continuity_scheduler_interval_seconds,
                batch_size=settings.continuity_batch_size,
                workers=settings.continuity_workers,
            )
            scheduler_task = asyncio.create_task(scheduler.run(), name="continuity-scheduler")
        # Everything built so far lives as long as the process: moved out of the
        # collector's sight, a full collection no longer walks it (~150,000 objects,
        # 80 ms with the request waiting: the p99 of a page read at two clients).
        gc.collect()
        gc.freeze()
        # A request allocates a few thousand objects, nearly all freed by reference
        # counting when it ends; with the default threshold (700) the collector ran a
        # young-generation pass several times per request for almost nothing.
        gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await scheduler_task
            for chore in chores:
                chore.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await chore
            await receivers.__aexit__(None, None, None)
            await workers.__aexit__(None, None, None)
            await hub.stop()
            credentials.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await credentials
            await engine.dispose()
            process_metrics.forget_this_process()
            tracing.shutdown_tracing()

    app = FastAPI(
        title="Helpdesk",
        version=VERSION,
        summary="One owner per request, nothing lost, nobody left in the dark.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
    )
    app.state.settings = settings
    app.state.token_cache = TokenCache(settings.token_cache_seconds)
    install_feedback(app, settings)

    install_error_handlers(app)
    app.add_exception_handler(IdempotentReplay, replay_response)
    app.add_exception_handler(_NotModified, not_modified)
    app.state.attachment_store = store_from_settings(settings)
    app.state.intakes = intakes(settings, app.state.attachment_store)
    app.state.email_intake = app.state.intakes["email"]
    app.add_middleware(
        GuardMiddleware,
        max_body_bytes=settings.max_body_bytes,
        larger_limit=_larger_bodies(settings),
    )
    # Added last, so outermost: the request id is set before anything else runs.
    app.add_middleware(RequestContextMiddleware)
    tracing.instrument_app(app)

    app.include_router(health_router)
    app.include_router(metrics_router)
    app.include_router(people_router, prefix=API_PREFIX)
    app.include_router(tokens_router, prefix=API_PREFIX)
    app.include_router(tickets_router, prefix=API_PREFIX)
    app.include_router(conversations_router, prefix=API_PREFIX)
    app.include_router(files_router, prefix=API_PREFIX)
    app.include_router(events_router, prefix=API_PREFIX)
    app.include_router(live_router, prefix=API_PREFIX)
    app.include_router(notifications_router, prefix=API_PREFIX)
    app.include_router(continuity_router, prefix=API_PREFIX)
    app.include_router(webhooks_router, prefix=API_PREFIX)
    app.include_router(feedback_router, prefix=API_PREFIX)
    app.include_router(inbound_router, prefix=API_PREFIX)
    app.include_router(inbound_channels_router, prefix=API_PREFIX)
    app.include_router(calls_router, prefix=API_PREFIX)
    app.include_router(chats_router, prefix=API_PREFIX)
    app.include_router(mailboxes_router, prefix=API_PREFIX)
    app.include_router(identities_router, prefix=API_PREFIX)
    app.include_router(merging_router, prefix=API_PREFIX)
    app.include_router(problems_router, prefix=API_PREFIX)
    app.include_router(sla_router, prefix=API_PREFIX)
    app.include_router(bulk_router, prefix=API_PREFIX)
    app.include_router(sign_in_router, prefix=API_PREFIX)
    app.include_router(kpi_router, prefix=API_PREFIX)
    app.include_router(alerts_router, prefix=API_PREFIX)
    app.include_router(imports_router, prefix=API_PREFIX)
    _add_docs(app)
    _install_openapi(app)
    return app


def _larger_bodies(settings: Settings) -> Callable[[Scope], int | None]:
    """Raw mail may be as large as the inbound limit allows (larger still is kept in
    quarantine, up to twice that); requests with files as large as two files."""
    raw_mail = 2 * settings.inbound_max_message_bytes
    uploads = 2 * settings.attachment_max_bytes + settings.max_body_bytes

    def limit(scope: Scope) -> int | None:
        if scope.get("method") != "POST":
            return None
        path: str = scope.get("path", "")
        if path == f"{API_PREFIX}/inbound/email":
            return raw_mail
        if header(scope, b"content-type").lower().startswith(b"multipart/form-data"):
            return uploads
        return None

    return limit


def _install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                routes=app.routes,
            )
            app.openapi_schema = finish_spec(use_problem_media_type(add_body_models(spec)))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _add_docs(app: FastAPI) -> None:
    """Swagger UI served from the installed package: /docs works with no internet."""
    app.mount("/docs/static", StaticFiles(directory=_SWAGGER_ASSETS), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=f"{API_PREFIX}/openapi.json",
            title="Helpdesk API",
            swagger_js_url="/docs/static/swagger-ui-bundle.js",
            swagger_css_url="/docs/static/swagger-ui.css",
            swagger_favicon_url="/docs/static/favicon.png",
        )

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/docs")
