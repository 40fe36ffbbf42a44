"""The outermost middleware: a request id for every request, its access log line, its
latency in the metrics, and the rate-limit headers (pure ASGI, no per-request tasks)."""

from __future__ import annotations

import logging
import time

from fastapi.routing import iter_route_contexts
from prometheus_client import Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth.rate_limit import Quota
from app.errors import internal_error_body
from app.observability.metrics import RATE_LIMITED, REQUEST_DURATION
from app.request_context import current_request_id, request_id_from

access_logger = logging.getLogger("helpdesk.access")
logger = logging.getLogger(__name__)
_UNMATCHED = "unmatched"  # one label for every path no route knows: bounded cardinality


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._templates: dict[int, str] | None = None
        # One histogram child per (method, route, status): labels() costs a lock and
        # a tuple of strings per call. Bounded: routes and statuses are finite.
        self._series: dict[tuple[str, str, int], Histogram] = {}

    def _template(self, scope: Scope) -> str:
        """The matched route's full path template (`/api/v1/tickets/{ticket_id}`).

        FastAPI leaves the route as declared on its router (without the include
        prefix) in the scope; the full templates are read once from the app."""
        route = scope.get("route")
        if route is None:
            return _UNMATCHED
        if self._templates is None:
            self._templates = {
                id(context.original_route): context.path_format
                for context in iter_route_contexts(scope["app"].routes)
                if context.path_format
            }
        return self._templates.get(id(route)) or getattr(route, "path", None) or _UNMATCHED

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(_header(scope, b"x-request-id"))
        # Each request runs in its own task (its own context): nothing to reset.
        current_request_id.set(request_id)
        state = scope.setdefault("state", {})
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return

        started = time.perf_counter()
        status = 0

        async def send_with_context(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                quota: Quota | None = state.get("rate_limit")
                if quota is not None:
                    headers.extend(quota.headers())
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_context)
        except Exception:
            if status:
                raise  # the response has begun: nothing better to send
            # Rendered here rather than by Starlette's outermost handler so that even an
            # unexpected failure carries its request id, in the body and the headers.
            logger.exception("unhandled error on %s %s", scope["method"], scope["path"])
            body = internal_error_body(scope["path"], request_id)
            await send_with_context(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", b"application/problem+json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
        finally:
            elapsed = time.perf_counter() - started
            template = self._template(scope)
            key = (scope["method"], template, status)
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = REQUEST_DURATION.labels(
                    scope["method"], template, str(status)
                )
            series.observe(elapsed)
            if status == 429:
                RATE_LIMITED.inc()
            if access_logger.isEnabledFor(logging.INFO):
                _log_access(scope, template, status, elapsed)


def _log_access(scope: Scope, template: str, status: int, elapsed: float) -> None:
    client = _client(scope)
    access_logger.info(
        '%s "%s %s" %d %.1fms',
        client,
        scope["method"],
        scope["path"],
        status,
        elapsed * 1000,
        extra={
            "method": scope["method"],
            "path": scope["path"],
            "route": template,
            "status": status,
            "duration_ms": round(elapsed * 1000, 2),
            "client": client,
        },
    )


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "-"
