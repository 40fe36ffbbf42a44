"""SLA alerts: one row per ticket, target, level and due time, so each warning and
breach is raised once; partial indexes for the watcher's two questions.

Revision ID: 2fe00b87994c
Revises: 5c3a6fa5f3ea
Create Date: 2026-11-23 12:37:29.697877+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2fe00b87994c"
down_revision: str | None = "5c3a6fa5f3ea"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sla_alerts",
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "target",
            sa.Enum(
                "first_response",
                "resolution",
                name="sla_target",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "level",
            sa.Enum(
                "warning",
                "breached",
                name="sla_level",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_sla_alerts_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "ticket_id", "target", "level", "due_at", name=op.f("pk_sla_alerts")
        ),
    )
    op.create_index(
        "ix_tickets_first_response_due",
        "tickets",
        ["first_response_due_at"],
        unique=False,
        postgresql_where=sa.text(
            "first_response_at IS NULL AND status IN ('new', 'open', 'pending')"
        ),
    )
    op.create_index(
        "ix_tickets_resolution_due",
        "tickets",
        ["resolution_due_at"],
        unique=False,
        postgresql_where=sa.text("status IN ('new', 'open', 'pending')"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_tickets_resolution_due",
        table_name="tickets",
        postgresql_where=sa.text("status IN ('new', 'open', 'pending')"),
    )
    op.drop_index(
        "ix_tickets_first_response_due",
        table_name="tickets",
        postgresql_where=sa.text(
            "first_response_at IS NULL AND status IN ('new', 'open', 'pending')"
        ),
    )
    op.drop_table("sla_alerts")
