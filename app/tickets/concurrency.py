"""Optimistic concurrency: the ticket version is its strong ETag; If-Match guards writes."""

from __future__ import annotations

from app.errors import PreconditionFailed
from app.events.audience import customer_sees_only_public
from app.models import Ticket, User


def etag(version: int) -> str:
    return f'"{version}"'


def version_for(ticket: Ticket, viewer: User | None) -> int:
    """The version `viewer` was shown: a customer's or integration's own (moved only by
    what they see, app/events/audience.py), staff's otherwise."""
    if viewer is not None and not viewer.role.is_staff and customer_sees_only_public():
        return ticket.customer_version
    return ticket.version


def check_if_match(if_match: str | None, ticket: Ticket, viewer: User | None = None) -> None:
    """412 unless If-Match is absent, `*`, or names the current version (strong match)
    as `viewer` was shown it (staff's when no viewer is given)."""
    if if_match is None:
        return
    version = version_for(ticket, viewer)
    candidates = [part.strip() for part in if_match.split(",")]
    if "*" in candidates or etag(version) in candidates:
        return
    raise PreconditionFailed(
        f"Ticket {ticket.id} has changed: it is at version {version} "
        f"(ETag {etag(version)}); reload it and try again.",
        extra={"current_version": version},
    )
