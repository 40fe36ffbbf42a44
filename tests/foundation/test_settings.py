"""Settings read the way the README documents them."""

from __future__ import annotations

import pytest

from app.cli import _own_base_url
from app.config import Settings


@pytest.mark.parametrize(
    "given",
    [
        '["https://console.example.com", "http://localhost:5173"]',
        "https://console.example.com, http://localhost:5173",
        '["https://console.example.com/", "http://localhost:5173"]',
    ],
)
def test_websocket_origins_take_a_json_list_or_a_comma_list(
    monkeypatch: pytest.MonkeyPatch, given: str
) -> None:
    monkeypatch.setenv("HELPDESK_WS_ALLOWED_ORIGINS", given)

    origins = Settings(_env_file=None).ws_allowed_origins  # type: ignore[call-arg]

    assert origins == ["https://console.example.com", "http://localhost:5173"]


def test_a_malformed_json_list_of_origins_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELPDESK_WS_ALLOWED_ORIGINS", '["https://a.example",')

    with pytest.raises(ValueError, match="JSON list"):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_the_rate_limit_burst_defaults_to_ten_seconds_of_the_rate() -> None:
    assert Settings(rate_limit_per_minute=1200).effective_rate_limit_burst == 200
    assert Settings(rate_limit_per_minute=60).effective_rate_limit_burst == 10
    assert Settings(rate_limit_per_minute=3).effective_rate_limit_burst == 1
    limited = Settings(rate_limit_per_minute=60, rate_limit_burst=5)
    assert limited.effective_rate_limit_burst == 5


@pytest.mark.parametrize(
    ("host", "port", "url"),
    [
        ("127.0.0.1", 8811, "http://127.0.0.1:8811"),
        ("0.0.0.0", 8000, "http://localhost:8000"),  # noqa: S104
        ("::1", 9000, "http://[::1]:9000"),
    ],
)
def test_email_links_follow_the_port_serve_listens_on(host: str, port: int, url: str) -> None:
    assert _own_base_url(host, port) == url
