"""Continuity: absences, where new tickets go, how far up a team escalates, who may take
which categories, and the record of every ticket an absence handed over."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigId, CreatedAt, UpdatedAt
from app.models.user import enum_column


class AbsenceReason(StrEnum):
    VACATION = "vacation"
    SICK_LEAVE = "sick_leave"
    TRAINING = "training"
    PARENTAL_LEAVE = "parental_leave"
    OTHER = "other"


class Absence(Base):
    """A stretch of time someone is away. Open-ended while `ends_at` is null."""

    __tablename__ = "absences"
    __table_args__ = (
        CheckConstraint("ends_at IS NULL OR ends_at > starts_at", name="ends_after_start"),
        Index("ix_absences_user_id_starts_at", "user_id", "starts_at"),
        # The scheduler's question every minute: which absences are over and not yet
        # settled (their tickets not yet handed back)?
        Index(
            "ix_absences_unsettled_end", "ends_at", postgresql_where=sql_text("returned_at IS NULL")
        ),
    )

    id: Mapped[BigId]
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime | None]
    reason: Mapped[AbsenceReason] = mapped_column(enum_column(AbsenceReason, "absence_reason"))
    backup_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )
    created_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )
    # When the hand-back after this absence was settled (tickets returned, or none due).
    returned_at: Mapped[datetime | None]
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]


class RoutingRule(Base):
    """New tickets of a category go to a team."""

    __tablename__ = "routing_rules"

    id: Mapped[BigId]
    category: Mapped[str] = mapped_column(String(100), unique=True)
    team_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("teams.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]


class TeamContinuity(Base):
    """A team's place in the escalation chain and its hand-back policy.

    A team without a row has the defaults: level 1, no next level, hand-back on for
    absences shorter than 14 days.
    """

    __tablename__ = "team_continuity"

    team_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    level: Mapped[int] = mapped_column(Integer, server_default=sql_text("1"))
    escalation_team_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("teams.id", ondelete="SET NULL")
    )
    hand_back: Mapped[bool] = mapped_column(Boolean, server_default=sql_text("true"))
    hand_back_max_days: Mapped[int] = mapped_column(Integer, server_default=sql_text("14"))
    updated_at: Mapped[UpdatedAt]


class AgentSkill(Base):
    """A category someone handles. Staff without any take every category."""

    __tablename__ = "agent_skills"

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    category: Mapped[str] = mapped_column(String(100), primary_key=True)
    created_at: Mapped[CreatedAt]


class Handover(Base):
    """One ticket moved away from someone unavailable: what hand-back returns later.

    `absence_id` is null when the owner was deactivated (gone for good: nothing returns).
    """

    __tablename__ = "handovers"
    __table_args__ = (
        Index("ix_handovers_ticket_id_id", "ticket_id", "id"),
        Index("ix_handovers_absence_id", "absence_id"),
    )

    id: Mapped[BigId]
    ticket_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("tickets.id", ondelete="CASCADE"))
    absence_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("absences.id", ondelete="CASCADE")
    )
    from_user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"))
    to_user_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    event_id: Mapped[int] = mapped_column(BigInteger)
    handed_back_at: Mapped[datetime | None]
    created_at: Mapped[CreatedAt]
