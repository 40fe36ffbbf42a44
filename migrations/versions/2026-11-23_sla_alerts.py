"""SLA alerts: one row per ticket, target, level and due time, so each warning and
breach is raised once; per ticket, the target whose breach was flagged, and the partial
indexes the watcher reads.

Targets already missed when this runs are marked as flagged without an alert: the
watcher is for targets missed from now on, not a flood of mail about an old backlog.

Revision ID: 2fe00b87994c
Revises: 5c3a6fa5f3ea
Create Date: 2026-11-23 13:04:01.441367+00:00
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
    op.add_column(
        "tickets",
        sa.Column("first_response_breached_for", sa.DateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "tickets", sa.Column("resolution_breached_for", sa.DateTime(timezone=True), nullable=True)
    )
    op.execute(
        "UPDATE tickets SET first_response_breached_for = first_response_due_at "
        "WHERE status IN ('new', 'open', 'pending') AND first_response_at IS NULL "
        "AND first_response_due_at <= now()"
    )
    op.execute(
        "UPDATE tickets SET resolution_breached_for = resolution_due_at "
        "WHERE status IN ('new', 'open', 'pending') AND resolution_due_at <= now()"
    )
    op.create_index(
        "ix_tickets_first_response_watch",
        "tickets",
        ["priority", "first_response_due_at"],
        unique=False,
        postgresql_where=sa.text(
            "status IN ('new', 'open', 'pending') AND first_response_at IS NULL "
            "AND first_response_breached_for IS DISTINCT FROM first_response_due_at"
        ),
    )
    op.create_index(
        "ix_tickets_resolution_watch",
        "tickets",
        ["priority", "resolution_due_at"],
        unique=False,
        postgresql_where=sa.text(
            "status IN ('new', 'open', 'pending') "
            "AND resolution_breached_for IS DISTINCT FROM resolution_due_at"
        ),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_tickets_resolution_watch",
        table_name="tickets",
        postgresql_where=sa.text(
            "status IN ('new', 'open', 'pending') "
            "AND resolution_breached_for IS DISTINCT FROM resolution_due_at"
        ),
    )
    op.drop_index(
        "ix_tickets_first_response_watch",
        table_name="tickets",
        postgresql_where=sa.text(
            "status IN ('new', 'open', 'pending') AND first_response_at IS NULL "
            "AND first_response_breached_for IS DISTINCT FROM first_response_due_at"
        ),
    )
    op.drop_column("tickets", "resolution_breached_for")
    op.drop_column("tickets", "first_response_breached_for")
    op.drop_table("sla_alerts")
