"""Teams: groups of staff who share a queue, with how new tickets are assigned."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigId, CreatedAt, UpdatedAt
from app.models.user import enum_column


class AssignmentMode(StrEnum):
    MANUAL = "manual"
    ROUND_ROBIN = "round_robin"
    LEAST_LOADED = "least_loaded"


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[BigId]
    name: Mapped[str] = mapped_column(String(100), unique=True)
    assignment: Mapped[AssignmentMode] = mapped_column(
        enum_column(AssignmentMode, "team_assignment")
    )
    # Mail to this address (billing@...) becomes a ticket of this team.
    email_address: Mapped[str | None] = mapped_column(String(320), unique=True)
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]


class TeamMember(Base):
    __tablename__ = "team_members"

    team_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[CreatedAt]
    # When routing last gave this member a ticket of this team: whose turn it is next.
    last_routed_at: Mapped[datetime | None]
