"""Merge tests use the file mailbox (what customers are told) and a live server."""

from tests.feedback.conftest import anonymous, mailbox
from tests.live.conftest import live_server

__all__ = ["anonymous", "live_server", "mailbox"]
