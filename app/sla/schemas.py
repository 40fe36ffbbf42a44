"""The `sla` object every ticket shows, as the API answers it.

    "sla": {"policy": {"id": 3, "name": "Gold customers"},
            "first_response_due_at": "2026-06-01T13:30:00Z", "next_response_due_at": null,
            "resolution_due_at": "2026-06-04T09:30:00Z", "paused": false,
            "breached": false, "remaining_seconds": 5400}

The due times are the stored columns (app/sla/clock.py); `remaining_seconds` is
`clock.remaining` to `clock.soonest_due`, in business seconds on the policy's calendar,
negative once that due time has passed and frozen while the clock is paused.
Calendars and policies themselves: calendar_schemas.py and policy_schemas.py.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class PolicyRef(BaseModel):
    id: int
    name: str


class TicketSla(BaseModel):
    policy: PolicyRef | None
    first_response_due_at: datetime | None
    next_response_due_at: datetime | None
    resolution_due_at: datetime | None
    paused: bool = Field(description="the clock stands still while the desk waits on the customer")
    breached: bool = Field(description="a target was missed")
    remaining_seconds: int | None = Field(
        description="business seconds to the nearest due time still to be met; negative once "
        "it has passed; frozen while paused; null when nothing is due"
    )
