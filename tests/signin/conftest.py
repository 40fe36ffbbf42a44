"""Sign-in tests use the file mailbox (the link) and anonymous clients."""

from tests.feedback.conftest import anonymous, mailbox
from tests.live.conftest import live_server

__all__ = ["anonymous", "live_server", "mailbox"]
