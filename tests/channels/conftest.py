"""A real HTTP receiver for connector webhooks, and the delivery worker that sends to it."""

from tests.webhooks.conftest import (
    hook_app,
    hook_client,
    hook_settings,
    http,
    make_hook_worker,
    receiver,
    worker,
)

__all__ = [
    "hook_app",
    "hook_client",
    "hook_settings",
    "http",
    "make_hook_worker",
    "receiver",
    "worker",
]
