"""OpenTelemetry tracing through the maintained instrumentations (FastAPI, asyncpg,
HTTPX), exported over OTLP/HTTP. Off unless an exporter endpoint is configured with the
standard variables (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
everything else (OTEL_SERVICE_NAME, headers, sampling) is read by the SDK as usual.

SQLAlchemy's own instrumentation refuses SQLAlchemy 2.1; every statement reaches
PostgreSQL through asyncpg, which is instrumented instead.
"""

from __future__ import annotations

import logging
import os

from fastapi import FastAPI

logger = logging.getLogger(__name__)
ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
_provider_installed = False


def tracing_configured() -> bool:
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    return any(os.environ.get(name) for name in ENDPOINT_VARIABLES)


def instrument_app(app: FastAPI) -> bool:
    """Trace requests into `app` when tracing is configured; say whether it is."""
    if not tracing_configured():
        return False
    _install_provider()
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    # /metrics and the health probes are polled all day: their spans would be noise.
    FastAPIInstrumentor.instrument_app(app, excluded_urls="/metrics,/healthz,/readyz")
    return True


def _install_provider() -> None:
    global _provider_installed
    if _provider_installed:
        return
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    service = os.environ.get("OTEL_SERVICE_NAME", "helpdesk")
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    # Webhook and SMS deliveries go out through httpx: their calls become child spans;
    # every database statement becomes one through asyncpg.
    HTTPXClientInstrumentor().instrument()
    AsyncPGInstrumentor().instrument()  # type: ignore[no-untyped-call]
    _provider_installed = True
    logger.info(
        "tracing to %s", next(os.environ[n] for n in ENDPOINT_VARIABLES if os.environ.get(n))
    )


def shutdown_tracing() -> None:
    """Flush the spans still buffered (at process exit)."""
    if not _provider_installed:
        return
    from opentelemetry import trace

    provider = trace.get_tracer_provider()
    shutdown = getattr(provider, "shutdown", None)
    if shutdown is not None:
        shutdown()
