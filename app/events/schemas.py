"""Events as the API (and later the WebSocket) shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from app.events.audience import Audience, audience_of, project_data
from app.events.summaries import summarize
from app.models import Role, TicketEvent, User, Visibility


class ActorOut(BaseModel):
    id: int
    name: str
    role: Role


class EventOut(BaseModel):
    id: int
    ticket_id: int
    kind: str
    visibility: Visibility
    actor: ActorOut | None
    data: dict[str, Any]
    ticket_version: int | None = Field(
        description="The ticket's (staff) version the event made; null to customers and "
        "integrations, whose version moves only with what they see (docs/visibility.md)."
    )
    created_at: datetime


class LastAction(BaseModel):
    kind: str
    at: datetime
    summary: str


def present_event(event: TicketEvent, actor: User | None, viewer: User) -> EventOut:
    # The list query shows a non-staff viewer public events only; the projection agrees.
    audience = audience_of(viewer)
    data = project_data(event.kind, event.visibility.value, event.data, audience) or {}
    return EventOut(
        id=event.id,
        ticket_id=event.ticket_id,
        kind=event.kind,
        visibility=event.visibility,
        actor=None if actor is None else ActorOut(id=actor.id, name=actor.name, role=actor.role),
        data=data,
        ticket_version=event.ticket_version if audience is Audience.STAFF else None,
        created_at=event.created_at,
    )


class OwnerChange(BaseModel):
    """Why the current contact has the case: the reason of the latest owner change, in
    the words the customer was told."""

    reason: str
    at: datetime
    summary: str


def owner_change(event: TicketEvent) -> OwnerChange:
    return OwnerChange(
        reason=str(event.data.get("reason", "manual")),
        at=event.created_at,
        summary=summarize(event.kind, event.data, None),
    )


def last_action(event: TicketEvent, actor: User | None) -> LastAction:
    return LastAction(
        kind=event.kind,
        at=event.created_at,
        summary=summarize(event.kind, event.data, actor.name if actor else None),
    )
