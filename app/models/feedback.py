"""Feedback: satisfaction surveys after each resolution, and structured feedback records
(complaints, suggestions, improvement requests, praise) with their votes and history.

Both are kept in the shape the satisfaction and trend metrics will read: who resolved,
which team, when sent and answered, the rating; each feedback step with its time.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigId, CreatedAt
from app.models.ticket import Channel
from app.models.user import enum_column


class SurveyAnswerVia(StrEnum):
    LINK = "link"  # the single-use link in the invitation, no login
    PORTAL = "portal"  # signed in, on the ticket
    IMPORTED = "imported"  # answered in another helpdesk, brought in by a history import


class SatisfactionSurvey(Base):
    """One survey per resolution of a ticket, sent to its requester.

    The link's token is stored only as its SHA-256 (like API tokens); the invitation
    re-derives it from the service secret and `token_nonce`, so neither the database nor
    the secret alone can answer for the customer.
    """

    __tablename__ = "satisfaction_surveys"
    __table_args__ = (
        UniqueConstraint("ticket_id", "resolution"),
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),
        Index("ix_satisfaction_surveys_ticket_id_id", "ticket_id", "id"),
        # Satisfaction per owner and per team over time (the KPI issue reads these).
        Index("ix_satisfaction_surveys_owner_answered", "owner_id", "answered_at"),
        Index("ix_satisfaction_surveys_team_answered", "team_id", "answered_at"),
    )

    id: Mapped[BigId]
    ticket_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("tickets.id", ondelete="CASCADE"))
    # The ticket's first resolution is 1; a reopened and re-resolved ticket gets 2, ...
    resolution: Mapped[int] = mapped_column(Integer)
    requester_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE")
    )
    # The owner and team the ticket had when it was resolved: whom the answer is about.
    owner_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )
    team_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("teams.id", ondelete="SET NULL")
    )
    # Who moved it to resolved (the owner, another agent, or the customer themselves).
    resolved_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    token_nonce: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    answered_via: Mapped[SurveyAnswerVia | None] = mapped_column(
        enum_column(SurveyAnswerVia, "survey_answer_via")
    )
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[CreatedAt]


class FeedbackKind(StrEnum):
    COMPLAINT = "complaint"
    SUGGESTION = "suggestion"
    IMPROVEMENT_REQUEST = "improvement_request"
    PRAISE = "praise"


class FeedbackStatus(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    PLANNED = "planned"
    DONE = "done"
    DECLINED = "declined"


class Feedback(Base):
    """A complaint, suggestion, improvement request or praise, from whichever channel."""

    __tablename__ = "feedback"
    __table_args__ = (
        # Triage lists are newest first, narrowed by kind and status.
        Index("ix_feedback_created", text("created_at DESC"), text("id DESC")),
        Index("ix_feedback_kind_status_created", "kind", "status", text("created_at DESC")),
        Index("ix_feedback_customer_id", "customer_id"),
        Index("ix_feedback_author_id", "author_id"),
        Index("ix_feedback_ticket_id", "ticket_id"),
        Index("ix_feedback_primary_id", "primary_id"),
        Index("ix_feedback_tags", "tags", postgresql_using="gin"),
        Index("ix_feedback_search", "search", postgresql_using="gin"),
    )

    id: Mapped[BigId]
    kind: Mapped[FeedbackKind] = mapped_column(enum_column(FeedbackKind, "feedback_kind"))
    status: Mapped[FeedbackStatus] = mapped_column(enum_column(FeedbackStatus, "feedback_status"))
    body: Mapped[str] = mapped_column(Text)
    # What the author (and every customer behind it) is told; nothing else is shown to them.
    public_response: Mapped[str | None] = mapped_column(Text)
    # Who filed it: the customer, an agent taking a call or chat, or an integration.
    author_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"))
    # The customer behind it: the author when a customer filed it, else the one named.
    customer_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    # The ticket it is about, or (complaints) the ticket opened to handle it.
    ticket_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("tickets.id", ondelete="SET NULL")
    )
    # A complaint about a closed ticket opens a new one; this is the closed one.
    origin_ticket_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("tickets.id", ondelete="SET NULL")
    )
    # The message an agent flagged as this feedback.
    message_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("messages.id", ondelete="SET NULL")
    )
    category: Mapped[str | None] = mapped_column(String(100))
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(50)), server_default=text("'{}'"))
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "feedback_channel"))
    # Set on a duplicate: the one record it was merged into (never itself a duplicate).
    primary_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("feedback.id", ondelete="SET NULL")
    )
    search: Mapped[str] = mapped_column(TSVECTOR, server_default=text("''::tsvector"))
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[CreatedAt]


class FeedbackVote(Base):
    """One customer saying "me too" to a suggestion: one vote per customer and record."""

    __tablename__ = "feedback_votes"
    __table_args__ = (UniqueConstraint("feedback_id", "customer_id"),)

    id: Mapped[BigId]
    feedback_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("feedback.id", ondelete="CASCADE")
    )
    customer_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    # Who recorded it: the customer, or an agent or integration on their behalf.
    recorded_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[CreatedAt]


class FeedbackChange(Base):
    """Each step of a feedback record's lifecycle, append-only: who, when, what was said."""

    __tablename__ = "feedback_changes"
    __table_args__ = (Index("ix_feedback_changes_feedback_id_id", "feedback_id", "id"),)

    id: Mapped[BigId]
    feedback_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("feedback.id", ondelete="CASCADE")
    )
    from_status: Mapped[FeedbackStatus | None] = mapped_column(
        enum_column(FeedbackStatus, "feedback_change_from")
    )
    to_status: Mapped[FeedbackStatus] = mapped_column(
        enum_column(FeedbackStatus, "feedback_change_to")
    )
    public_response: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[CreatedAt]
