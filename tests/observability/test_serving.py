"""Observability of a real `helpdesk serve --workers 2`: metrics summed over its
processes, JSON log lines with the request id, and spans exported over OTLP."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.factories import Actors
from tests.service_process import serving

pytestmark = pytest.mark.usefixtures("sessionmaker")
ME_200 = (
    'helpdesk_http_request_duration_seconds_count{method="GET",route="/api/v1/me",status="200"}'
)


class _Collector(BaseHTTPRequestHandler):
    spans: list[str]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        for resource in request.resource_spans:
            for scope in resource.scope_spans:
                self.server.spans.extend(span.name for span in scope.spans)  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def otlp_collector() -> Iterator[ThreadingHTTPServer]:
    """An OTLP/HTTP receiver on loopback that keeps the names of the spans it gets."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    server.spans = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


async def test_metrics_logs_and_traces_of_a_served_request(
    database_url: str, tmp_path: Path, actors: Actors, otlp_collector: ThreadingHTTPServer
) -> None:
    agent = await actors.agent()
    collector = f"http://127.0.0.1:{otlp_collector.server_address[1]}"
    env = {
        "HELPDESK_DATABASE_URL": database_url,
        "HELPDESK_DATA_DIR": str(tmp_path),
        "HELPDESK_LOG_FORMAT": "json",
        "HELPDESK_NOTIFICATION_WORKERS": "0",
        "HELPDESK_CONTINUITY_SCHEDULER": "false",
        "HELPDESK_SLA_WATCHER": "false",
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector,
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    }
    log = tmp_path / "serve.log"
    async with serving(env, log, args=["--workers", "2"]) as base_url:
        async with httpx.AsyncClient(base_url=base_url, headers=agent.headers) as http:
            # New connections, so that both workers serve some of them.
            for number in range(12):
                response = await http.get(
                    "/api/v1/me", headers={"Connection": "close", "X-Request-ID": f"obs-{number}"}
                )
                assert response.status_code == 200
                assert response.headers["X-Request-ID"] == f"obs-{number}"
            # A request is counted once its response has left: allow the last a moment.
            for _ in range(20):
                samples = _samples((await http.get("/metrics")).text)
                if samples.get(ME_200) == 12.0:
                    break
                await asyncio.sleep(0.1)
        for _ in range(50):
            if any(name == "GET /api/v1/me" for name in otlp_collector.spans):  # type: ignore[attr-defined]
                break
            await asyncio.sleep(0.1)

    assert samples[ME_200] == 12.0  # summed over both workers
    assert 'helpdesk_db_pool_connections{state="idle"}' in samples
    assert "helpdesk_live_connections" in samples
    assert "helpdesk_handovers_total" in samples

    records = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    access = [r for r in records if r["logger"] == "helpdesk.access"]
    assert {r["request_id"] for r in access} >= {f"obs-{n}" for n in range(12)}
    assert {r["route"] for r in access if r["request_id"] == "obs-3"} == {"/api/v1/me"}

    names = set(otlp_collector.spans)  # type: ignore[attr-defined]
    assert "GET /api/v1/me" in names
    assert any(name.startswith(("SELECT", "connect")) for name in names), names


def _samples(exposition: str) -> dict[str, float]:
    found = {}
    for line in exposition.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            found[name] = float(value)
    return found
