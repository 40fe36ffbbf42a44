"""Feedback: satisfaction surveys (one per resolution), feedback records with their
votes and lifecycle history.

Revision ID: 5c3a6fa5f3ea
Revises: 3eebd787cfb8
Create Date: 2026-11-23 09:45:29.136380+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "5c3a6fa5f3ea"
down_revision: str | None = "3eebd787cfb8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "satisfaction_surveys",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("resolution", sa.Integer(), nullable=False),
        sa.Column("requester_id", sa.BigInteger(), nullable=False),
        sa.Column("owner_id", sa.BigInteger(), nullable=True),
        sa.Column("team_id", sa.BigInteger(), nullable=True),
        sa.Column("resolved_by_id", sa.BigInteger(), nullable=True),
        sa.Column("token_hash", sa.LargeBinary(), nullable=False),
        sa.Column("token_nonce", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "answered_via",
            sa.Enum(
                "link",
                "portal",
                name="survey_answer_via",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("rating", sa.SmallInteger(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "rating BETWEEN 1 AND 5", name=op.f("ck_satisfaction_surveys_rating_range")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_satisfaction_surveys_owner_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["requester_id"],
            ["users.id"],
            name=op.f("fk_satisfaction_surveys_requester_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_id"],
            ["users.id"],
            name=op.f("fk_satisfaction_surveys_resolved_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_satisfaction_surveys_team_id_teams"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_satisfaction_surveys_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_satisfaction_surveys")),
        sa.UniqueConstraint(
            "ticket_id", "resolution", name=op.f("uq_satisfaction_surveys_ticket_id_resolution")
        ),
        sa.UniqueConstraint("token_hash", name=op.f("uq_satisfaction_surveys_token_hash")),
    )
    op.create_index(
        "ix_satisfaction_surveys_owner_answered",
        "satisfaction_surveys",
        ["owner_id", "answered_at"],
        unique=False,
    )
    op.create_index(
        "ix_satisfaction_surveys_team_answered",
        "satisfaction_surveys",
        ["team_id", "answered_at"],
        unique=False,
    )
    op.create_index(
        "ix_satisfaction_surveys_ticket_id_id",
        "satisfaction_surveys",
        ["ticket_id", "id"],
        unique=False,
    )
    op.create_table(
        "feedback",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "complaint",
                "suggestion",
                "improvement_request",
                "praise",
                name="feedback_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "new",
                "acknowledged",
                "planned",
                "done",
                "declined",
                name="feedback_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("public_response", sa.Text(), nullable=True),
        sa.Column("author_id", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=True),
        sa.Column("ticket_id", sa.BigInteger(), nullable=True),
        sa.Column("origin_ticket_id", sa.BigInteger(), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("category", sa.String(length=100), nullable=True),
        sa.Column(
            "tags",
            postgresql.ARRAY(sa.String(length=50)),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column(
            "channel",
            sa.Enum(
                "web",
                "email",
                "phone",
                "chat",
                "sms",
                "social",
                "api",
                name="feedback_channel",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("primary_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "search", postgresql.TSVECTOR(), server_default=sa.text("''::tsvector"), nullable=False
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_feedback_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["users.id"], name=op.f("fk_feedback_customer_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_feedback_message_id_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["origin_ticket_id"],
            ["tickets.id"],
            name=op.f("fk_feedback_origin_ticket_id_tickets"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["primary_id"],
            ["feedback.id"],
            name=op.f("fk_feedback_primary_id_feedback"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_feedback_ticket_id_tickets"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
    )
    op.create_index("ix_feedback_author_id", "feedback", ["author_id"], unique=False)
    op.create_index(
        "ix_feedback_created",
        "feedback",
        [sa.literal_column("created_at DESC"), sa.literal_column("id DESC")],
        unique=False,
    )
    op.create_index("ix_feedback_customer_id", "feedback", ["customer_id"], unique=False)
    op.create_index(
        "ix_feedback_kind_status_created",
        "feedback",
        ["kind", "status", sa.literal_column("created_at DESC")],
        unique=False,
    )
    op.create_index("ix_feedback_primary_id", "feedback", ["primary_id"], unique=False)
    op.create_index(
        "ix_feedback_search", "feedback", ["search"], unique=False, postgresql_using="gin"
    )
    op.create_index("ix_feedback_tags", "feedback", ["tags"], unique=False, postgresql_using="gin")
    op.create_index("ix_feedback_ticket_id", "feedback", ["ticket_id"], unique=False)
    op.create_table(
        "feedback_changes",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("feedback_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "from_status",
            sa.Enum(
                "new",
                "acknowledged",
                "planned",
                "done",
                "declined",
                name="feedback_change_from",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column(
            "to_status",
            sa.Enum(
                "new",
                "acknowledged",
                "planned",
                "done",
                "declined",
                name="feedback_change_to",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("public_response", sa.Text(), nullable=True),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_feedback_changes_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["feedback_id"],
            ["feedback.id"],
            name=op.f("fk_feedback_changes_feedback_id_feedback"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_changes")),
    )
    op.create_index(
        "ix_feedback_changes_feedback_id_id",
        "feedback_changes",
        ["feedback_id", "id"],
        unique=False,
    )
    op.create_table(
        "feedback_votes",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("feedback_id", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("recorded_by_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["users.id"],
            name=op.f("fk_feedback_votes_customer_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["feedback_id"],
            ["feedback.id"],
            name=op.f("fk_feedback_votes_feedback_id_feedback"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_feedback_votes_recorded_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_votes")),
        sa.UniqueConstraint(
            "feedback_id", "customer_id", name=op.f("uq_feedback_votes_feedback_id_customer_id")
        ),
    )
    op.create_index(
        op.f("ix_feedback_votes_customer_id"), "feedback_votes", ["customer_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_feedback_votes_customer_id"), table_name="feedback_votes")
    op.drop_table("feedback_votes")
    op.drop_index("ix_feedback_changes_feedback_id_id", table_name="feedback_changes")
    op.drop_table("feedback_changes")
    op.drop_index("ix_feedback_ticket_id", table_name="feedback")
    op.drop_index("ix_feedback_tags", table_name="feedback", postgresql_using="gin")
    op.drop_index("ix_feedback_search", table_name="feedback", postgresql_using="gin")
    op.drop_index("ix_feedback_primary_id", table_name="feedback")
    op.drop_index("ix_feedback_kind_status_created", table_name="feedback")
    op.drop_index("ix_feedback_customer_id", table_name="feedback")
    op.drop_index("ix_feedback_created", table_name="feedback")
    op.drop_index("ix_feedback_author_id", table_name="feedback")
    op.drop_table("feedback")
    op.drop_index("ix_satisfaction_surveys_ticket_id_id", table_name="satisfaction_surveys")
    op.drop_index("ix_satisfaction_surveys_team_answered", table_name="satisfaction_surveys")
    op.drop_index("ix_satisfaction_surveys_owner_answered", table_name="satisfaction_surveys")
    op.drop_table("satisfaction_surveys")
