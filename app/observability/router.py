"""GET /metrics for Prometheus, and the sampler that keeps this process's gauges current.

Access: with HELPDESK_METRICS_TOKEN set, a scraper sends `Authorization: Bearer <it>`;
unset, only loopback clients are answered (a scraper on the same host or a sidecar).
The endpoint is not part of the API (`/api/v1`) and not in its OpenAPI document.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from app.errors import Forbidden, Unauthorized
from app.observability import metrics

logger = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
SAMPLE_INTERVAL_SECONDS = 5.0


def _authorize(request: Request) -> None:
    token = request.app.state.settings.metrics_token
    if token is not None:
        given = request.headers.get("authorization", "")
        expected = f"Bearer {token.get_secret_value()}"
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise Unauthorized("/metrics needs the bearer token of HELPDESK_METRICS_TOKEN.")
        return
    host = request.client.host if request.client else ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise Forbidden(
            "/metrics answers loopback clients only unless HELPDESK_METRICS_TOKEN is set."
        )


@router.get("/metrics")
async def prometheus_metrics(request: Request) -> Response:
    _authorize(request)
    sample(request.app)
    body = metrics.process_figures() + await metrics.database_figures(request.app.state.engine)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def sample(app: FastAPI) -> None:
    """This process's pool and WebSocket figures, written where /metrics reads them."""
    pool = app.state.engine.sync_engine.pool
    metrics.DB_POOL_CONNECTIONS.labels(state="in_use").set(pool.checkedout())
    metrics.DB_POOL_CONNECTIONS.labels(state="idle").set(pool.checkedin())
    settings = app.state.settings
    metrics.DB_POOL_CAPACITY.set(settings.db_pool_size + settings.db_max_overflow)
    hub = app.state.hub
    metrics.LIVE_CONNECTIONS.set(hub.subscriber_count())
    metrics.HUB_LAG.set(hub.lag_seconds)


async def keep_sampling(app: FastAPI) -> None:
    while True:
        try:
            sample(app)
        except Exception:  # a gauge must never take the process down
            logger.exception("sampling the process metrics failed")
        await asyncio.sleep(SAMPLE_INTERVAL_SECONDS)
