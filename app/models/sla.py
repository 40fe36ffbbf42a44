"""SLA alerts: which response and resolution targets have been warned about or missed.

One row per ticket, target, level and due time, so each alert is raised exactly once
however many processes look, and a target moved by a priority change is watched anew.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, CreatedAt
from app.models.ticket import Ticket
from app.models.user import enum_column


class SlaTarget(StrEnum):
    FIRST_RESPONSE = "first_response"
    RESOLUTION = "resolution"


class SlaLevel(StrEnum):
    WARNING = "warning"  # most of the time to the target has gone
    BREACHED = "breached"  # the target was missed


class SlaAlert(Base):
    __tablename__ = "sla_alerts"

    ticket_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    target: Mapped[SlaTarget] = mapped_column(
        enum_column(SlaTarget, "sla_target"), primary_key=True
    )
    level: Mapped[SlaLevel] = mapped_column(enum_column(SlaLevel, "sla_level"), primary_key=True)
    due_at: Mapped[datetime] = mapped_column(primary_key=True)
    created_at: Mapped[CreatedAt]


# What the watcher asks every interval, per priority: which tickets still waiting for an
# answer (or a solution) have a target within reach, not yet flagged as missed. Tickets
# whose current target was flagged drop out, so the backlog of old breaches costs nothing.
# The watcher's queries repeat these predicates word for word, so the planner can use
# the indexes.
_WAITING = "status IN ('new', 'open', 'pending')"
FIRST_RESPONSE_WATCHED = (
    f"{_WAITING} AND first_response_at IS NULL "
    "AND first_response_breached_for IS DISTINCT FROM first_response_due_at"
)
RESOLUTION_WATCHED = f"{_WAITING} AND resolution_breached_for IS DISTINCT FROM resolution_due_at"
Index(
    "ix_tickets_first_response_watch",
    Ticket.priority,
    Ticket.first_response_due_at,
    postgresql_where=text(FIRST_RESPONSE_WATCHED),
)
Index(
    "ix_tickets_resolution_watch",
    Ticket.priority,
    Ticket.resolution_due_at,
    postgresql_where=text(RESOLUTION_WATCHED),
)
