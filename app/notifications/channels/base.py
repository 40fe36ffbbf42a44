"""The one interface every delivery channel implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from app.models import NotificationDelivery, User, WebhookEndpoint
from app.notifications.render import Rendered


@dataclass(frozen=True, slots=True)
class OutgoingFile:
    """A file an email carries: attached (`content` read at send time) or as a link."""

    filename: str
    content_type: str
    sha256: str
    size: int
    link: str
    attach: bool = True
    content: bytes | None = None


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A claimed delivery with what its channel needs to send it."""

    delivery: NotificationDelivery
    recipient: User | None
    rendered: Rendered | None  # email and SMS
    endpoint: WebhookEndpoint | None  # webhooks
    thread_root: str | None  # email: the Message-ID every message of the ticket refers to
    reply_to: str | None = None  # email: the ticket's own reply address, when configured
    files: list[OutgoingFile] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Outcome:
    delivered: bool
    error: str | None = None
    response_code: int | None = None
    # Give up now (a permanent refusal) instead of retrying later.
    permanent: bool = False
    # The receiver asked to wait this long (HTTP 429 Retry-After).
    retry_after_seconds: float | None = None
    # The receiver said the endpoint is gone for good (HTTP 410).
    disable_endpoint: bool = False
    details: dict[str, Any] | None = None


class ChannelAdapter(Protocol):
    async def send(self, outgoing: Outgoing) -> Outcome: ...
