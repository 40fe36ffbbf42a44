"""A ticket's response from one details row (app/tickets/repository.py reads it), or
from a filing just made, as the viewer's audience sees it (app/events/audience.py)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.events.audience import Audience, audience_of, customer_sees_only_public, public_data
from app.events.schemas import LastAction, OwnerChange
from app.events.summaries import summarize
from app.models import Ticket
from app.tickets.customer_view import narrowed
from app.tickets.filing import Filed
from app.tickets.lifecycle import breached_at, sla_remaining
from app.tickets.schemas import PersonRef, RequesterRef, SlaOut, SlaPolicyRef, TicketOut

# Every column the response needs, and nothing else: the two tsvectors are half of
# a ticket row's bytes and no response shows them.
TICKET_COLUMNS = (
    Ticket.id,
    Ticket.subject,
    Ticket.description,
    Ticket.status,
    Ticket.channel,
    Ticket.urgency,
    Ticket.impact,
    Ticket.priority,
    Ticket.category,
    Ticket.tags,
    Ticket.external_ref,
    Ticket.follow_up_of_id,
    Ticket.version,
    Ticket.created_at,
    Ticket.updated_at,
    Ticket.customer_version,
    Ticket.customer_updated_at,
    Ticket.first_response_at,
    Ticket.resolved_at,
    Ticket.first_response_due_at,
    Ticket.next_response_due_at,
    Ticket.resolution_due_at,
    Ticket.sla_policy_id,
    Ticket.sla_paused_since,
    Ticket.merged_into_id,
    Ticket.problem_id,
)


def present(m: Mapping[Any, Any], now: datetime, audience: Audience = Audience.STAFF) -> TicketOut:
    """The response for one ticket, from a details row (or the same keys from memory),
    as `audience` sees it (app/events/audience.py)."""
    event_kind, event_data = m["event_kind"], m["event_data"]
    owner_event_kind, owner_event_data = m["owner_event_kind"], m["owner_event_data"]
    public = audience is Audience.PUBLIC
    # The customer's own version and time (moved only by what they see), unless an admin
    # shows them staff-only fields, whose changes only the staff version follows.
    own_clock = public and customer_sees_only_public()
    if public:
        event_data = None if event_kind is None else public_data(event_kind, event_data) or {}
        if owner_event_kind is not None:
            owner_event_data = public_data(owner_event_kind, owner_event_data) or {}
    ticket = TicketOut(
        id=m["id"],
        subject=m["subject"],
        description=m["description"],
        status=m["status"],
        channel=m["channel"],
        urgency=m["urgency"],
        impact=m["impact"],
        priority=m["priority"],
        category=m["category"],
        tags=m["tags"],
        requester=RequesterRef(
            id=m["requester_id"], name=m["requester_name"], email=m["requester_email"]
        ),
        owner=None if m["owner_id"] is None else PersonRef(id=m["owner_id"], name=m["owner_name"]),
        team=None if m["team_id"] is None else PersonRef(id=m["team_id"], name=m["team_name"]),
        external_ref=m["external_ref"],
        follow_up_of=m["follow_up_of_id"],
        version=m["customer_version"] if own_clock else m["version"],
        created_at=m["created_at"],
        updated_at=m["customer_updated_at"] if own_clock else m["updated_at"],
        first_response_at=m["first_response_at"],
        resolved_at=m["resolved_at"],
        last_action=None
        if event_kind is None
        else LastAction(
            kind=event_kind,
            at=m["event_at"],
            summary=summarize(event_kind, event_data, m["actor_name"]),
        ),
        last_owner_change=None
        if owner_event_kind is None
        else OwnerChange(
            reason=str(owner_event_data.get("reason", "manual")),
            at=m["owner_event_at"],
            summary=summarize(owner_event_kind, owner_event_data, None),
        ),
        sla=SlaOut(
            policy=None
            if m["sla_policy_name"] is None
            else SlaPolicyRef(id=m["sla_policy_id"], name=m["sla_policy_name"]),
            first_response_due_at=m["first_response_due_at"],
            next_response_due_at=m["next_response_due_at"],
            resolution_due_at=m["resolution_due_at"],
            paused=m["sla_paused_since"] is not None,
            breached=breached_at(
                m["first_response_due_at"],
                m["first_response_at"],
                m["resolution_due_at"],
                m["resolved_at"],
                now,
            )
            or (m["next_response_due_at"] is not None and now > m["next_response_due_at"]),
            remaining_seconds=sla_remaining(m, now),
        ),
        merged_into=m["merged_into_id"],
        problem_id=m["problem_id"],
    )
    return narrowed(ticket) if public else ticket


def present_filed(filed: Filed) -> TicketOut:
    """What a read of a ticket just filed would return to its author, without the read:
    the filing holds every value (a test compares the two)."""
    ticket, event, owner_event = filed.ticket, filed.last_event, filed.owner_event
    row: dict[str, Any] = {column.key: getattr(ticket, column.key) for column in TICKET_COLUMNS}
    row.update(
        requester_id=filed.requester.id,
        requester_name=filed.requester.name,
        requester_email=filed.requester.email,
        owner_id=None if filed.owner is None else filed.owner.id,
        owner_name=None if filed.owner is None else filed.owner.name,
        team_id=None if filed.team is None else filed.team.id,
        team_name=None if filed.team is None else filed.team.name,
        sla_policy_name=filed.sla_policy_name,
        event_kind=event.kind,
        event_data=event.data,
        event_at=event.created_at,
        actor_name=filed.actor.name if event.actor_id == filed.actor.id else None,
        owner_event_kind=None if owner_event is None else owner_event.kind,
        owner_event_data=None if owner_event is None else owner_event.data,
        owner_event_at=None if owner_event is None else owner_event.created_at,
    )
    return present(row, ticket.updated_at, audience_of(filed.actor))
