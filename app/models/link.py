"""Links between tickets: a duplicate merged into its primary, an incident tied to the
problem behind it.

Each link is two rows, one on each ticket (`merged_into` and `merged_from`, `problem`
and `incident`), so every ticket's links live with it: with the ticket tables
distributed on `ticket_id` (Citus), reading a ticket's links never leaves its shard.
For the same reason `linked_id` has no foreign key: a key between two tickets would
span shards (tickets are never deleted, and a ticket's own rows go with it).
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, CreatedAt
from app.models.user import enum_column


class LinkRelation(StrEnum):
    MERGED_INTO = "merged_into"  # this duplicate was merged into the linked ticket
    MERGED_FROM = "merged_from"  # the linked duplicate was merged into this ticket
    PROBLEM = "problem"  # this incident is caused by the linked problem
    INCIDENT = "incident"  # the linked incident is caused by this problem


INVERSE = {
    LinkRelation.MERGED_INTO: LinkRelation.MERGED_FROM,
    LinkRelation.MERGED_FROM: LinkRelation.MERGED_INTO,
    LinkRelation.PROBLEM: LinkRelation.INCIDENT,
    LinkRelation.INCIDENT: LinkRelation.PROBLEM,
}


class TicketLink(Base):
    __tablename__ = "ticket_links"

    ticket_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    relation: Mapped[LinkRelation] = mapped_column(
        enum_column(LinkRelation, "link_relation"), primary_key=True
    )
    linked_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[CreatedAt]
