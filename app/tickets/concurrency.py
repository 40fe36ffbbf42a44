"""Optimistic concurrency: the ticket version is its strong ETag; If-Match guards writes."""

from __future__ import annotations

from app.errors import PreconditionFailed
from app.models import Ticket


def etag(version: int) -> str:
    return f'"{version}"'


def check_if_match(if_match: str | None, ticket: Ticket) -> None:
    """412 unless If-Match is absent, `*`, or names the current version (strong match)."""
    if if_match is None:
        return
    candidates = [part.strip() for part in if_match.split(",")]
    if "*" in candidates or etag(ticket.version) in candidates:
        return
    raise PreconditionFailed(
        f"Ticket {ticket.id} has changed: it is at version {ticket.version} "
        f"(ETag {etag(ticket.version)}); reload it and try again.",
        extra={"current_version": ticket.version},
    )
