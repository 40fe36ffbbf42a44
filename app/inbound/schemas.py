"""Intake as the API shows it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from app.models import IntakeOutcome


class IntakeOut(BaseModel):
    outcome: IntakeOutcome = Field(
        description="created: a new ticket; appended: a message on a ticket; followup: a new "
        "ticket following up a closed one; ignored: accounted for, nothing recorded (a "
        "bounce, an automatic reply to no ticket, the desk's own mail); quarantined: kept "
        "with its reason for an admin (GET /inbound/quarantine)."
    )
    ticket_id: int | None
    message_id: int | None = Field(description="The message recorded on the ticket, if any.")
    reason: str | None = Field(description="Why it was ignored or quarantined, in words.")
    inbound_id: int = Field(description="The intake record (the quarantine id when quarantined).")


class QuarantinedOut(BaseModel):
    id: int
    channel: str
    via: str = Field(description="http, smtp or imap")
    mailbox_id: int | None
    sender: str | None
    subject: str | None
    reason: str | None
    reason_code: str | None = Field(
        description="e.g. unparseable, too_large, rate_limited, no_sender, record_failed"
    )
    size: int
    attempts: int
    received_at: datetime
