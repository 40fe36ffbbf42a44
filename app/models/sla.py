"""SLA alerts: which response and resolution targets have been warned about or missed.

One row per ticket, target, level and due time, so each alert is raised exactly once
however many processes look, and a target moved by a priority change is watched anew.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigId, CreatedAt, UpdatedAt
from app.models.ticket import Ticket
from app.models.user import enum_column


class SlaTarget(StrEnum):
    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    RESOLUTION = "resolution"


class SlaLevel(StrEnum):
    WARNING = "warning"  # most of the time to the target has gone
    BREACHED = "breached"  # the target was missed


class BusinessCalendarRow(Base):
    """When a desk is open: an IANA zone, weekly hours and holidays (JSONB in the shapes
    of app/sla/calendar_schemas.py), or around the clock."""

    __tablename__ = "calendars"

    id: Mapped[BigId]
    name: Mapped[str] = mapped_column(String(100), unique=True)
    time_zone: Mapped[str] = mapped_column(String(64))
    always_open: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    hours: Mapped[list[Any]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    holidays: Mapped[list[Any]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]


class SlaPolicy(Base):
    """Targets per priority on a calendar, for the tickets its conditions match (JSONB in
    the shapes of app/sla/policy_schemas.py). One default policy, for the rest."""

    __tablename__ = "sla_policies"
    __table_args__ = (
        Index(
            "uq_sla_policies_default",
            "is_default",
            unique=True,
            postgresql_where=text("is_default"),
        ),
    )

    id: Mapped[BigId]
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str | None] = mapped_column(String(1000))
    calendar_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("calendars.id", ondelete="RESTRICT"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    is_default: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    conditions: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    targets: Mapped[dict[str, Any]] = mapped_column(JSONB)
    on_breach: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]


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
# Paused clocks (pending: waiting on the customer) are left out: their stored due times
# move when the clock resumes.
_WAITING = "status IN ('new', 'open', 'pending') AND sla_paused_since IS NULL"
FIRST_RESPONSE_WATCHED = (
    f"{_WAITING} AND first_response_at IS NULL "
    "AND first_response_breached_for IS DISTINCT FROM first_response_due_at"
)
RESOLUTION_WATCHED = f"{_WAITING} AND resolution_breached_for IS DISTINCT FROM resolution_due_at"
NEXT_RESPONSE_WATCHED = (
    f"{_WAITING} AND next_response_due_at IS NOT NULL "
    "AND next_response_breached_for IS DISTINCT FROM next_response_due_at"
)
Index(
    "ix_tickets_first_response_watch",
    Ticket.first_response_warn_at,
    postgresql_where=text(FIRST_RESPONSE_WATCHED),
)
Index(
    "ix_tickets_next_response_watch",
    Ticket.next_response_warn_at,
    postgresql_where=text(NEXT_RESPONSE_WATCHED),
)
Index(
    "ix_tickets_resolution_watch",
    Ticket.resolution_warn_at,
    postgresql_where=text(RESOLUTION_WATCHED),
)
