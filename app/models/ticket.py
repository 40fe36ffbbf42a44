"""The ticket aggregate: the customer's request, its owner, and how it stands."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigId, CreatedAt
from app.models.user import enum_column


class TicketStatus(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"  # waiting on the customer
    RESOLVED = "resolved"
    CLOSED = "closed"  # final


class Channel(StrEnum):
    WEB = "web"
    EMAIL = "email"
    PHONE = "phone"
    CHAT = "chat"
    SMS = "sms"
    SOCIAL = "social"
    API = "api"


class Level(StrEnum):
    """Urgency and impact."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Priority(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    PLANNING = "planning"


class Visibility(StrEnum):
    PUBLIC = "public"  # the requester sees it
    INTERNAL = "internal"  # staff only


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        # Every list is "newest activity first"; each common filter gets an index that
        # serves it in that order, so a first page never sorts a large set.
        Index("ix_tickets_activity", text("updated_at DESC"), text("id DESC")),
        Index("ix_tickets_status_activity", "status", text("updated_at DESC"), text("id DESC")),
        Index("ix_tickets_owner_activity", "owner_id", text("updated_at DESC"), text("id DESC")),
        Index("ix_tickets_team_activity", "team_id", text("updated_at DESC"), text("id DESC")),
        Index(
            "ix_tickets_requester_activity",
            "requester_id",
            text("updated_at DESC"),
            text("id DESC"),
        ),
        # A customer's list is ordered by their own time of change (app/events/audience.py).
        Index(
            "ix_tickets_requester_customer_activity",
            "requester_id",
            text("customer_updated_at DESC"),
            text("id DESC"),
        ),
        Index("ix_tickets_tags", "tags", postgresql_using="gin"),
        Index("ix_tickets_search_public", "search_public", postgresql_using="gin"),
        Index("ix_tickets_search_internal", "search_internal", postgresql_using="gin"),
        Index(
            "uq_tickets_created_by_id_external_ref", "created_by_id", "external_ref", unique=True
        ),
        # Search (q=) finds a ticket by its reference in the filer's system too.
        Index(
            "ix_tickets_external_ref",
            "external_ref",
            postgresql_where=text("external_ref IS NOT NULL"),
        ),
        # The queue by the next due time (GET /tickets?sort=sla_due; app/tickets/sla_order.py):
        # whole, so that the order holds with any filter; done tickets sit at its null end.
        Index("ix_tickets_sla_due", "sla_due_at", "id"),
        # Tickets nobody owns and no supervisor was told of, oldest first (app/sla/unowned.py).
        Index(
            "ix_tickets_unowned",
            "created_at",
            postgresql_where=text(
                "owner_id IS NULL AND unowned_alerted_at IS NULL "
                "AND status IN ('new', 'open', 'pending')"
            ),
        ),
        # Open work per owner: handover after an absence, least-loaded routing.
        Index(
            "ix_tickets_owner_open_work",
            "owner_id",
            "priority",
            postgresql_where=text("status IN ('new', 'open', 'pending')"),
        ),
    )

    id: Mapped[BigId]
    subject: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[TicketStatus] = mapped_column(enum_column(TicketStatus, "ticket_status"))
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "ticket_channel"))
    urgency: Mapped[Level] = mapped_column(enum_column(Level, "ticket_urgency"))
    impact: Mapped[Level] = mapped_column(enum_column(Level, "ticket_impact"))
    # Derived from urgency x impact by the service; stored so it can be filtered and indexed.
    priority: Mapped[Priority] = mapped_column(enum_column(Priority, "ticket_priority"))
    category: Mapped[str | None] = mapped_column(String(100))
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(50)), server_default=text("'{}'"))
    requester_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"))
    owner_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    team_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("teams.id"))
    # Who filed it: the customer, an agent, or the integration whose external_ref this is.
    created_by_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"))
    external_ref: Mapped[str | None] = mapped_column(String(200))
    # A follow-up opened by a reply to this closed ticket.
    follow_up_of_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("tickets.id", ondelete="SET NULL")
    )
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    first_response_due_at: Mapped[datetime | None]
    resolution_due_at: Mapped[datetime | None]
    # Service level (app/sla/clock.py): the policy the due times come from, the next
    # response due while a customer message waits, and the pause while pending.
    sla_policy_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("sla_policies.id", ondelete="SET NULL")
    )
    next_response_due_at: Mapped[datetime | None]
    # When each target's warning is due (its share of business time gone): the watcher
    # compares these, indexed, with the time of day and never recomputes anything.
    first_response_warn_at: Mapped[datetime | None]
    next_response_warn_at: Mapped[datetime | None]
    resolution_warn_at: Mapped[datetime | None]
    sla_paused_since: Mapped[datetime | None]
    sla_paused_seconds: Mapped[float] = mapped_column(Float, server_default=text("0"))
    next_response_breached_for: Mapped[datetime | None]
    # The soonest due time still to be met, null while paused or when none is: the
    # queue's sla_due order, kept by the SLA reactions.
    sla_due_at: Mapped[datetime | None]
    # When the supervisors were told this ticket waits without an owner (once).
    unowned_alerted_at: Mapped[datetime | None]
    # The due time whose breach was last flagged (app/sla/watcher.py). While it equals
    # the current target the ticket drops out of the watcher's indexes; a priority
    # change moves the target and so puts it back.
    first_response_breached_for: Mapped[datetime | None]
    resolution_breached_for: Mapped[datetime | None]
    # The newest event anyone may see, and the newest a requester may see: last_action.
    last_event_id: Mapped[int | None] = mapped_column(BigInteger)
    last_public_event_id: Mapped[int | None] = mapped_column(BigInteger)
    # The latest owner change: who the contact is and why (the portal shows its reason).
    last_owner_event_id: Mapped[int | None] = mapped_column(BigInteger)
    # The primary this duplicate was merged into, and the problem this incident is tied
    # to (app/models/link.py keeps both directions; no foreign key, for the same reason).
    merged_into_id: Mapped[int | None] = mapped_column(BigInteger)
    problem_id: Mapped[int | None] = mapped_column(BigInteger)
    # Full-text search: what the requester may see, and what only staff may see, apart,
    # so a customer's search can never match words from an internal note.
    search_public: Mapped[str] = mapped_column(TSVECTOR, server_default=text("''::tsvector"))
    search_internal: Mapped[str] = mapped_column(TSVECTOR, server_default=text("''::tsvector"))
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[CreatedAt]
    # The customer's version and time of last change: moved by a trigger (migration
    # 2026-12-06_customer_audience) only when something a customer sees changes, so their
    # ETag and updated_at say nothing of internal activity (app/events/audience.py).
    customer_version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    customer_updated_at: Mapped[CreatedAt]


class Message(Base):
    """A public reply or an internal note on a ticket. Bodies are plain text, kept as given."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_ticket_id_id", "ticket_id", "id"),)

    id: Mapped[BigId]
    ticket_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("tickets.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"))
    visibility: Mapped[Visibility] = mapped_column(enum_column(Visibility, "message_visibility"))
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "message_channel"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[CreatedAt]
