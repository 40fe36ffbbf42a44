"""The kinds of events on a ticket's timeline, and who may see each."""

from __future__ import annotations

from enum import StrEnum


class EventKind(StrEnum):
    TICKET_CREATED = "ticket.created"
    TICKET_UPDATED = "ticket.updated"
    STATUS_CHANGED = "ticket.status_changed"
    OWNER_CHANGED = "ticket.owner_changed"
    PRIORITY_CHANGED = "ticket.priority_changed"
    MESSAGE_CREATED = "message.created"
    SLA_WARNING = "sla.warning"
    SLA_BREACHED = "sla.breached"
    # The SLA clock stops while the desk waits on the customer (pending) and restarts.
    SLA_PAUSED = "sla.paused"
    SLA_RESUMED = "sla.resumed"
    # The answer time stated to the customer is about to pass unmet: they are told, once,
    # with a new expectation (public).
    SLA_DELAY_ANNOUNCED = "sla.delay_announced"
    FEEDBACK_RECEIVED = "feedback.received"
    # Email intake (app/inbound/): a reply on a closed ticket opened a follow-up; a mail
    # about the ticket was ignored (a loop, an automatic answer to a closed ticket); a
    # mail the desk sent about it bounced.
    FOLLOW_UP_OPENED = "ticket.follow_up_opened"
    EMAIL_IGNORED = "email.ignored"
    EMAIL_BOUNCED = "email.bounced"
    TICKET_MERGED = "ticket.merged"  # on both: the duplicate (now closed) and its primary
    TICKET_LINKED = "ticket.linked"  # on both: an incident and its problem
    TICKET_UNLINKED = "ticket.unlinked"
    REQUESTER_CHANGED = "ticket.requester_changed"  # customer records merged
    # Channels in (app/inbound/sms.py): the requester texted STOP or START; internal.
    SMS_CONSENT_CHANGED = "sms.consent_changed"
    # A phone call staff logged on the ticket (app/calls); public, its recording and
    # note hidden from the requester.
    CALL_LOGGED = "call.logged"
    # Threshold alerts (app/alerts/): about the desk, not one ticket, so they are kept in
    # `alerts` rather than on a timeline, and go to staff on the `alerts` live topic.
    ALERT_FIRED = "alert.fired"
    ALERT_RESOLVED = "alert.resolved"


# Event data that says nobody is to be told about the event (an automatic answer
# recorded as an internal note, a bounce): RFC 3834, no robot talks to another forever.
QUIET = "quiet"


# What each audience sees of each kind (which data keys a customer may see): app/events/audience.py.
