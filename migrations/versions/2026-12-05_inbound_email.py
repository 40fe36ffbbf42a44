"""Inbound email: the intake record of every raw message (and its quarantine), message
attachments, IMAP mailboxes, team addresses, bounced deliveries and undeliverable
addresses, and follow-up tickets.

Revision ID: e3a1b7c40d12
Revises: 7c2d9e4f1a36
Create Date: 2026-12-05 22:55:00.973747+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "e3a1b7c40d12"
down_revision: str | None = "7c2d9e4f1a36"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mailboxes",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column(
            "security",
            sa.Enum(
                "tls",
                "starttls",
                "none",
                name="mailbox_security",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("username", sa.String(length=320), nullable=False),
        sa.Column(
            "auth",
            sa.Enum(
                "password",
                "xoauth2",
                name="mailbox_auth",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("secret_sealed", sa.LargeBinary(), nullable=False),
        sa.Column(
            "folder", sa.String(length=255), server_default=sa.text("'INBOX'"), nullable=False
        ),
        sa.Column("move_to", sa.String(length=255), nullable=True),
        sa.Column("team_id", sa.BigInteger(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("last_polled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
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
            ["team_id"], ["teams.id"], name=op.f("fk_mailboxes_team_id_teams"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mailboxes")),
        sa.UniqueConstraint("name", name=op.f("uq_mailboxes_name")),
    )
    op.create_table(
        "attachments",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=True),
        sa.Column("content_type", sa.String(length=255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("inline", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_attachments_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_attachments_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
    )
    op.create_index("ix_attachments_message_id", "attachments", ["message_id"], unique=False)
    op.create_index("ix_attachments_sha256", "attachments", ["sha256"], unique=False)
    op.create_index("ix_attachments_ticket_id_id", "attachments", ["ticket_id", "id"], unique=False)
    op.create_table(
        "inbound_messages",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("mailbox_id", sa.BigInteger(), nullable=True),
        sa.Column("dedupe_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("external_id", sa.Text(), nullable=False),
        sa.Column("raw_sha256", sa.String(length=64), nullable=False),
        sa.Column("raw_size", sa.BigInteger(), nullable=False),
        sa.Column(
            "envelope_recipients",
            postgresql.ARRAY(sa.String(length=320)),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("sender", sa.String(length=320), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=True),
        sa.Column(
            "outcome",
            sa.Enum(
                "created",
                "appended",
                "followup",
                "ignored",
                "quarantined",
                name="intake_outcome",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("reason_code", sa.String(length=64), nullable=True),
        sa.Column("ticket_id", sa.BigInteger(), nullable=True),
        sa.Column("message_row_id", sa.BigInteger(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["mailboxes.id"],
            name=op.f("fk_inbound_messages_mailbox_id_mailboxes"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["message_row_id"],
            ["messages.id"],
            name=op.f("fk_inbound_messages_message_row_id_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_inbound_messages_ticket_id_tickets"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_messages")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_inbound_messages_dedupe_key")),
    )
    op.create_index(
        "ix_inbound_messages_message_row_id", "inbound_messages", ["message_row_id"], unique=False
    )
    op.create_index(
        "ix_inbound_messages_quarantine",
        "inbound_messages",
        ["id"],
        unique=False,
        postgresql_where=sa.text("outcome = 'quarantined'"),
    )
    op.create_index(
        "ix_inbound_messages_raw_sha256", "inbound_messages", ["raw_sha256"], unique=False
    )
    op.create_index(
        "ix_inbound_messages_sender_received",
        "inbound_messages",
        ["sender", "received_at"],
        unique=False,
    )
    op.create_index(
        "ix_inbound_messages_ticket_id", "inbound_messages", ["ticket_id"], unique=False
    )
    op.add_column(
        "notification_deliveries",
        sa.Column("bounced_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "notification_deliveries", sa.Column("bounce_reason", sa.String(length=500), nullable=True)
    )
    op.add_column("teams", sa.Column("email_address", sa.String(length=320), nullable=True))
    op.create_unique_constraint(op.f("uq_teams_email_address"), "teams", ["email_address"])
    op.add_column("tickets", sa.Column("follow_up_of_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_tickets_follow_up_of_id_tickets"),
        "tickets",
        "tickets",
        ["follow_up_of_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.add_column(
        "users", sa.Column("email_undeliverable_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "users", sa.Column("email_undeliverable_reason", sa.String(length=500), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("users", "email_undeliverable_reason")
    op.drop_column("users", "email_undeliverable_at")
    op.drop_constraint(op.f("fk_tickets_follow_up_of_id_tickets"), "tickets", type_="foreignkey")
    op.drop_column("tickets", "follow_up_of_id")
    op.drop_constraint(op.f("uq_teams_email_address"), "teams", type_="unique")
    op.drop_column("teams", "email_address")
    op.drop_column("notification_deliveries", "bounce_reason")
    op.drop_column("notification_deliveries", "bounced_at")
    op.drop_index("ix_inbound_messages_ticket_id", table_name="inbound_messages")
    op.drop_index("ix_inbound_messages_sender_received", table_name="inbound_messages")
    op.drop_index("ix_inbound_messages_raw_sha256", table_name="inbound_messages")
    op.drop_index(
        "ix_inbound_messages_quarantine",
        table_name="inbound_messages",
        postgresql_where=sa.text("outcome = 'quarantined'"),
    )
    op.drop_index("ix_inbound_messages_message_row_id", table_name="inbound_messages")
    op.drop_table("inbound_messages")
    op.drop_index("ix_attachments_ticket_id_id", table_name="attachments")
    op.drop_index("ix_attachments_sha256", table_name="attachments")
    op.drop_index("ix_attachments_message_id", table_name="attachments")
    op.drop_table("attachments")
    op.drop_table("mailboxes")
