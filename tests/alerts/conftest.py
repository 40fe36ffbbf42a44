"""The real outside world an alert reaches: an HTTP receiver for its webhooks (with the
service allowed to target loopback) and an SMTP server for its mail."""

from __future__ import annotations

from tests.notifications.conftest import smtp_server
from tests.webhooks.conftest import hook_app, hook_client, hook_settings, http, receiver

__all__ = ["hook_app", "hook_client", "hook_settings", "http", "receiver", "smtp_server"]
