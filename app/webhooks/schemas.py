"""Webhook endpoints and their deliveries as the API shows and accepts them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from app.common.types import reject_nul
from app.events.kinds import EventKind
from app.models import DeliveryStatus, NotificationDelivery
from app.notifications.channels.targets import MAX_URL_LENGTH, url_problem


def _webhook_url(value: str) -> str:
    problem = url_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


WebhookUrl = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_URL_LENGTH),
    AfterValidator(reject_nul),
    AfterValidator(_webhook_url),
    Field(description="Where events are POSTed: http(s), no credentials, a public address."),
]
Description = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=200),
    AfterValidator(reject_nul),
]
# `channel.reply` is no timeline event: an endpoint of an integration (`integration_id`)
# that wants only the replies to send out subscribes to it (app/inbound/replies.py).
SubscribedKind = EventKind | Literal["*", "channel.reply"]
EventKinds = Annotated[
    list[SubscribedKind],
    Field(
        min_length=1,
        max_length=50,
        description='Timeline event kinds to receive, or ["*"] for every kind. Internal '
        "events (internal notes, field and priority changes) are sent only when "
        "include_internal is true. Alerts (alert.fired, alert.resolved) are not "
        "subscribed to here: an alert rule names its webhooks (webhook_ids).",
    ),
]
INTERNAL_DESCRIPTION = (
    "Also send internal events of the subscribed kinds: internal notes (message.created "
    "with visibility internal), ticket.updated, ticket.priority_changed and other events "
    "customers never see. Off by default: turn it on only for an integration trusted with "
    "what agents write to each other."
)
IncludeInternal = Annotated[bool, Field(description=INTERNAL_DESCRIPTION)]
IntegrationId = Annotated[
    int,
    Field(
        ge=1,
        le=2**63 - 1,
        description="The integration (a user with role integration) whose connector this "
        "endpoint is: public replies on tickets it brought in through POST "
        "/inbound/messages are POSTed here as `channel.reply`, whatever event_kinds says.",
    ),
]


_ALERT_KINDS = frozenset({EventKind.ALERT_FIRED, EventKind.ALERT_RESOLVED})


def _unique_kinds(kinds: list[SubscribedKind] | None) -> list[SubscribedKind] | None:
    if kinds is None:
        return None
    # Alerts are no ticket events: they go where an alert rule says (its webhook_ids),
    # so a subscription to them here would silently receive nothing.
    alerts = sorted(str(kind) for kind in kinds if kind in _ALERT_KINDS)
    if alerts:
        raise ValueError(
            f"{', '.join(alerts)} is not subscribed to here: an alert rule names the "
            "webhooks its alerts go to (webhook_ids on /alert-rules)"
        )
    return list(dict.fromkeys(kinds))


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WebhookCreate(_Input):
    url: WebhookUrl
    event_kinds: EventKinds
    include_internal: IncludeInternal = False
    description: Description | None = None
    integration_id: IntegrationId | None = None

    _dedupe = field_validator("event_kinds")(_unique_kinds)


class WebhookUpdate(_Input):
    """Every field optional. `active: true` re-enables a disabled endpoint (and forgets
    its failures); `active: false` pauses it. `description: null` clears it."""

    url: WebhookUrl | None = None
    event_kinds: EventKinds | None = None
    include_internal: IncludeInternal | None = None
    description: Description | None = None
    active: bool | None = None
    integration_id: IntegrationId | None = None

    _dedupe = field_validator("event_kinds")(_unique_kinds)


NOT_NULLABLE_FIELDS = frozenset({"url", "event_kinds", "include_internal", "active"})


class WebhookOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    url: str
    description: str | None
    event_kinds: list[str]
    include_internal: IncludeInternal
    active: bool
    disabled_reason: str | None = Field(description="Why it was disabled, while it is.")
    failing_since: datetime | None = Field(
        description="When the current run of failed deliveries began; null while healthy."
    )
    integration_id: int | None = None
    created_by_id: int | None
    created_at: datetime
    updated_at: datetime


class WebhookWithSecret(WebhookOut):
    secret: str = Field(
        description="The Standard Webhooks signing secret (whsec_ + base64 key): verify the "
        "webhook-signature header with it."
    )


class WebhookSecret(BaseModel):
    secret: str


class WebhookDeliveryOut(BaseModel):
    """One event sent (or to be sent) to one endpoint, with the outcome of its last attempt."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    webhook_id: int | None
    ticket_id: int | None
    event_id: int | None
    event_kind: str | None
    status: DeliveryStatus
    attempts: int
    max_attempts: int
    next_attempt_at: datetime
    last_error: str | None
    response_code: int | None = Field(description="HTTP status of the last attempt.")
    latency_ms: int | None = Field(description="Duration of the last attempt.")
    delivered_at: datetime | None
    idempotency_key: str = Field(
        description="The webhook-id header: the same on every attempt and redelivery."
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, delivery: NotificationDelivery) -> WebhookDeliveryOut:
        event = delivery.payload.get("event") or {}
        return cls.model_validate(
            {
                **{c.key: getattr(delivery, c.key) for c in delivery.__mapper__.column_attrs},
                "event_id": delivery.event_ids[0] if delivery.event_ids else None,
                "event_kind": event.get("kind"),
            }
        )
