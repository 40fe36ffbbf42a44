"""Notifications: the delivery outbox, webhook endpoints, preferences and followers.

Revision ID: 0b95355be175
Revises: ecbfa2c5a02d
Create Date: 2026-11-23 09:28:22.736612+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0b95355be175"
down_revision: str | None = "ecbfa2c5a02d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notification_preferences",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("topic", sa.String(length=32), nullable=False),
        sa.Column("channels", postgresql.ARRAY(sa.String(length=16)), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notification_preferences_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "topic", name=op.f("pk_notification_preferences")),
    )
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=True),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column("event_kinds", postgresql.ARRAY(sa.String(length=64)), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("disabled_reason", sa.String(length=200), nullable=True),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.BigInteger(), nullable=True),
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
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_webhook_endpoints_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
    )
    op.create_table(
        "notification_deliveries",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=True),
        sa.Column("recipient_id", sa.BigInteger(), nullable=True),
        sa.Column("webhook_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "channel",
            sa.Enum(
                "email",
                "sms",
                "webhook",
                name="delivery_channel",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "event_ids",
            postgresql.ARRAY(sa.BigInteger()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column(
            "payload",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "sending",
                "delivered",
                "dead",
                "cancelled",
                name="delivery_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            server_default=sa.text("'pending'"),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("leased_by", sa.String(length=64), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("response_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
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
            ["recipient_id"],
            ["users.id"],
            name=op.f("fk_notification_deliveries_recipient_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_notification_deliveries_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["webhook_endpoints.id"],
            name=op.f("fk_notification_deliveries_webhook_id_webhook_endpoints"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_deliveries")),
        sa.UniqueConstraint(
            "idempotency_key", name=op.f("uq_notification_deliveries_idempotency_key")
        ),
    )
    op.create_index(
        "ix_notification_deliveries_coalesce",
        "notification_deliveries",
        ["recipient_id", "channel", "ticket_id"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_notification_deliveries_due",
        "notification_deliveries",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("status IN ('pending', 'sending')"),
    )
    op.create_index(
        "ix_notification_deliveries_ticket_id_id",
        "notification_deliveries",
        ["ticket_id", "id"],
        unique=False,
    )
    op.create_index(
        "ix_notification_deliveries_webhook_id_id",
        "notification_deliveries",
        ["webhook_id", "id"],
        unique=False,
    )
    op.create_table(
        "ticket_followers",
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_followers_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_ticket_followers_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ticket_id", "user_id", name=op.f("pk_ticket_followers")),
    )
    op.create_index(
        op.f("ix_ticket_followers_user_id"), "ticket_followers", ["user_id"], unique=False
    )

    # Wake delivery workers as soon as a transaction that wrote deliveries commits.
    op.execute(
        """
        CREATE FUNCTION announce_outbox() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('helpdesk_outbox', '');
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER notification_deliveries_announce AFTER INSERT ON notification_deliveries "
        "FOR EACH STATEMENT EXECUTE FUNCTION announce_outbox()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER notification_deliveries_announce ON notification_deliveries")
    op.execute("DROP FUNCTION announce_outbox()")
    op.drop_index(op.f("ix_ticket_followers_user_id"), table_name="ticket_followers")
    op.drop_table("ticket_followers")
    op.drop_index("ix_notification_deliveries_webhook_id_id", table_name="notification_deliveries")
    op.drop_index("ix_notification_deliveries_ticket_id_id", table_name="notification_deliveries")
    op.drop_index(
        "ix_notification_deliveries_due",
        table_name="notification_deliveries",
        postgresql_where=sa.text("status IN ('pending', 'sending')"),
    )
    op.drop_index(
        "ix_notification_deliveries_coalesce",
        table_name="notification_deliveries",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_table("notification_deliveries")
    op.drop_table("webhook_endpoints")
    op.drop_table("notification_preferences")
