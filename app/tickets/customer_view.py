"""The customer's ticket: the response narrowed to what a customer (or an integration,
which sees the customer's view) may see. The rule itself is app/events/audience.py's."""

from __future__ import annotations

from typing import Any

from app.events.audience import customer_sees
from app.tickets.schemas import TicketOut

# The staff-only fields of the response that can be hidden (null to the customer).
_HIDEABLE = ("tags", "impact", "priority", "problem_id")


def narrowed(ticket: TicketOut) -> TicketOut:
    """`ticket` with every staff-only field an admin has not shown set to null."""
    update: dict[str, Any] = {name: None for name in _HIDEABLE if not customer_sees(name)}
    sla: dict[str, Any] = {}
    if not customer_sees("sla_breached"):
        sla["breached"] = None
    if not customer_sees("sla_policy"):
        sla["policy"] = None
    if sla:
        update["sla"] = ticket.sla.model_copy(update=sla)
    return ticket.model_copy(update=update)
