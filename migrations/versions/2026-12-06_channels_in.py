"""Channels in: social and generic threads, SMS consent and delivery status, connector
webhooks.

- `channel_threads`: a connector's conversation (a social thread, an SMS number) and the
  ticket its messages go on.
- `users.sms_opted_out_at`: STOP / START from the customer's phone.
- `notification_deliveries.provider_ref` / `provider_status`: the SMS provider's id and
  latest status of a message (its delivery-status callbacks).
- `webhook_endpoints.integration_id`: the endpoint a connector receives replies on.
- `chats`: a customer's chat (a ticket with channel chat): transcript asked for, email
  fallback; `live_presence`: staff connected to the live channel, across processes.

Revision ID: d6f2a8b4c016
Revises: c4a7e1d05b16
Create Date: 2026-12-06 02:30:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d6f2a8b4c016"
down_revision: str | None = "c4a7e1d05b16"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "channel_threads",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("connector", sa.String(length=64), nullable=False),
        sa.Column("integration_id", sa.BigInteger(), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("thread_ref", sa.String(length=300), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("handle", sa.String(length=320), nullable=False),
        sa.Column("last_inbound_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["users.id"],
            name=op.f("fk_channel_threads_integration_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_channel_threads_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["users.id"],
            name=op.f("fk_channel_threads_customer_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_threads")),
        sa.UniqueConstraint(
            "connector",
            "source",
            "thread_ref",
            name=op.f("uq_channel_threads_connector_source_thread_ref"),
        ),
    )
    op.create_index("ix_channel_threads_ticket_id", "channel_threads", ["ticket_id"])
    op.add_column("users", sa.Column("sms_opted_out_at", sa.DateTime(timezone=True)))
    op.add_column(
        "notification_deliveries", sa.Column("provider_ref", sa.String(length=64), nullable=True)
    )
    op.add_column(
        "notification_deliveries",
        sa.Column("provider_status", sa.String(length=32), nullable=True),
    )
    op.add_column("webhook_endpoints", sa.Column("integration_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_webhook_endpoints_integration_id_users"),
        "webhook_endpoints",
        "users",
        ["integration_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_index(
        op.f("ix_webhook_endpoints_integration_id"), "webhook_endpoints", ["integration_id"]
    )

    op.create_table(
        "chats",
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "transcript_requested", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("transcript_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fell_back_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_chats_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["users.id"],
            name=op.f("fk_chats_customer_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_chats")),
    )
    op.create_index(op.f("ix_chats_customer_id"), "chats", ["customer_id"])
    op.create_index(
        "ix_chats_waiting",
        "chats",
        ["created_at"],
        postgresql_where=sa.text("fell_back_at IS NULL"),
    )
    op.create_table(
        "live_presence",
        sa.Column("connection_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_live_presence_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("connection_id", name=op.f("pk_live_presence")),
    )
    op.create_index(op.f("ix_live_presence_user_id"), "live_presence", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_live_presence_user_id"), table_name="live_presence")
    op.drop_table("live_presence")
    op.drop_index("ix_chats_waiting", table_name="chats")
    op.drop_index(op.f("ix_chats_customer_id"), table_name="chats")
    op.drop_table("chats")
    op.drop_index(op.f("ix_webhook_endpoints_integration_id"), table_name="webhook_endpoints")
    op.drop_constraint(
        op.f("fk_webhook_endpoints_integration_id_users"), "webhook_endpoints", type_="foreignkey"
    )
    op.drop_column("webhook_endpoints", "integration_id")
    op.drop_column("notification_deliveries", "provider_status")
    op.drop_column("notification_deliveries", "provider_ref")
    op.drop_column("users", "sms_opted_out_at")
    op.drop_index("ix_channel_threads_ticket_id", table_name="channel_threads")
    op.drop_table("channel_threads")
