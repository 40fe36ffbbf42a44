"""Prometheus metrics with the official client, safe with `serve --workers N`.

Every process writes its samples to files in PROMETHEUS_MULTIPROC_DIR (which `helpdesk
serve` creates fresh and hands to its workers and its background process); whichever
worker answers GET /metrics reads them all. Without the variable (tests, one process
embedded elsewhere) the client's default in-memory registry is used.

Figures that belong to the database rather than to a process (outbox backlog, dead
deliveries, handovers) are read from PostgreSQL when /metrics is asked, so every
worker reports the same numbers and none is counted twice.
"""

from __future__ import annotations

import os

from prometheus_client import REGISTRY as DEFAULT_REGISTRY
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

# The intake's counters live with the intake's hook; imported so /metrics lists them.
from app.observability import inbound  # noqa: F401 - the inbound counters exist before the first mail

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUEST_DURATION = Histogram(
    "helpdesk_http_request_duration_seconds",
    "Time from a request's arrival to its response's last byte, by route template.",
    ["method", "route", "status"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
DB_POOL_CONNECTIONS = Gauge(
    "helpdesk_db_pool_connections",
    "Database connections of the service's pools: in_use (checked out) and idle.",
    ["state"],
    multiprocess_mode="livesum",
)
DB_POOL_CAPACITY = Gauge(
    "helpdesk_db_pool_capacity",
    "Connections the pools may hold open (pool size plus overflow, summed over processes).",
    multiprocess_mode="livesum",
)
LIVE_CONNECTIONS = Gauge(
    "helpdesk_live_connections",
    "Open WebSocket connections.",
    multiprocess_mode="livesum",
)
HUB_LAG = Gauge(
    "helpdesk_live_hub_lag_seconds",
    "Seconds since the event hub last caught up with the event feed (worst process).",
    multiprocess_mode="livemax",
)
RATE_LIMITED = Counter(
    "helpdesk_rate_limited_requests_total", "Requests refused with 429 by the per-user limit."
)


def registry_for_scrape() -> CollectorRegistry:
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return DEFAULT_REGISTRY


_DATABASE_FIGURES = text(
    """
    SELECT 'backlog' AS figure, channel::text AS channel, count(*) AS value
      FROM notification_deliveries WHERE status IN ('pending', 'sending') GROUP BY channel
    UNION ALL
    SELECT 'dead', channel::text, count(*)
      FROM notification_deliveries WHERE status = 'dead' GROUP BY channel
    UNION ALL
    SELECT 'handovers', '', coalesce(max(id), 0) FROM handovers
    """
)


async def database_figures(engine: AsyncEngine) -> bytes:
    """The outbox and handover figures, in the text exposition format."""
    backlog = GaugeMetricFamily(
        "helpdesk_outbox_backlog",
        "Notification deliveries waiting to be sent or being sent, by channel.",
        labels=["channel"],
    )
    dead = GaugeMetricFamily(
        "helpdesk_outbox_dead_deliveries",
        "Deliveries that failed every attempt and wait for a person, by channel.",
        labels=["channel"],
    )
    handovers = CounterMetricFamily(
        "helpdesk_handovers",
        "Tickets handed over from someone unavailable, since the database was created.",
    )
    async with engine.connect() as connection:
        rows = (await connection.execute(_DATABASE_FIGURES)).all()
    for figure, channel, value in rows:
        if figure == "backlog":
            backlog.add_metric([channel], value)
        elif figure == "dead":
            dead.add_metric([channel], value)
        else:
            handovers.add_metric([], value)

    class _Figures:
        def collect(self) -> list[GaugeMetricFamily | CounterMetricFamily]:
            return [backlog, dead, handovers]

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Figures())
    return generate_latest(registry)


def process_figures() -> bytes:
    return generate_latest(registry_for_scrape())


def forget_this_process() -> None:
    """Drop this process's live gauges (its files stay for the counters' sake)."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
