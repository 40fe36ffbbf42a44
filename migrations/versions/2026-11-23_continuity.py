"""Continuity: absences, routing rules, team levels and hand-back, skills, handovers;
tickets remember their latest owner change, team members when they were last routed to.

Revision ID: 3eebd787cfb8
Revises: 0b95355be175
Create Date: 2026-11-23 09:43:52.352368+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3eebd787cfb8"
down_revision: str | None = "0b95355be175"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "absences",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "reason",
            sa.Enum(
                "vacation",
                "sick_leave",
                "training",
                "parental_leave",
                "other",
                name="absence_reason",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("backup_id", sa.BigInteger(), nullable=True),
        sa.Column("created_by_id", sa.BigInteger(), nullable=True),
        sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.CheckConstraint(
            "ends_at IS NULL OR ends_at > starts_at", name=op.f("ck_absences_ends_after_start")
        ),
        sa.ForeignKeyConstraint(
            ["backup_id"],
            ["users.id"],
            name=op.f("fk_absences_backup_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_absences_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_absences_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_absences")),
    )
    op.create_index(
        "ix_absences_unsettled_end",
        "absences",
        ["ends_at"],
        unique=False,
        postgresql_where=sa.text("returned_at IS NULL"),
    )
    op.create_index(
        "ix_absences_user_id_starts_at", "absences", ["user_id", "starts_at"], unique=False
    )
    op.create_table(
        "agent_skills",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_agent_skills_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "category", name=op.f("pk_agent_skills")),
    )
    op.create_table(
        "routing_rules",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=False),
        sa.Column("team_id", sa.BigInteger(), nullable=False),
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
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_routing_rules_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_rules")),
        sa.UniqueConstraint("category", name=op.f("uq_routing_rules_category")),
    )
    op.create_index(op.f("ix_routing_rules_team_id"), "routing_rules", ["team_id"], unique=False)
    op.create_table(
        "team_continuity",
        sa.Column("team_id", sa.BigInteger(), nullable=False),
        sa.Column("level", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("escalation_team_id", sa.BigInteger(), nullable=True),
        sa.Column("hand_back", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("hand_back_max_days", sa.Integer(), server_default=sa.text("14"), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["escalation_team_id"],
            ["teams.id"],
            name=op.f("fk_team_continuity_escalation_team_id_teams"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_team_continuity_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("team_id", name=op.f("pk_team_continuity")),
    )
    op.create_table(
        "handovers",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("absence_id", sa.BigInteger(), nullable=True),
        sa.Column("from_user_id", sa.BigInteger(), nullable=False),
        sa.Column("to_user_id", sa.BigInteger(), nullable=True),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("handed_back_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["absence_id"],
            ["absences.id"],
            name=op.f("fk_handovers_absence_id_absences"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["from_user_id"], ["users.id"], name=op.f("fk_handovers_from_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_handovers_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["to_user_id"], ["users.id"], name=op.f("fk_handovers_to_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handovers")),
    )
    op.create_index("ix_handovers_absence_id", "handovers", ["absence_id"], unique=False)
    op.create_index("ix_handovers_ticket_id_id", "handovers", ["ticket_id", "id"], unique=False)
    op.add_column(
        "team_members", sa.Column("last_routed_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("tickets", sa.Column("last_owner_event_id", sa.BigInteger(), nullable=True))
    # Tickets that changed hands before this migration: their latest owner change.
    op.execute(
        """
        UPDATE tickets t SET last_owner_event_id = latest.id
        FROM (
            SELECT ticket_id, max(id) AS id FROM ticket_events
            WHERE kind = 'ticket.owner_changed' GROUP BY ticket_id
        ) latest
        WHERE latest.ticket_id = t.id
        """
    )
    op.create_index(
        "ix_tickets_owner_open_work",
        "tickets",
        ["owner_id", "priority"],
        unique=False,
        postgresql_where=sa.text("status IN ('new', 'open', 'pending')"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_tickets_owner_open_work",
        table_name="tickets",
        postgresql_where=sa.text("status IN ('new', 'open', 'pending')"),
    )
    op.drop_column("tickets", "last_owner_event_id")
    op.drop_column("team_members", "last_routed_at")
    op.drop_index("ix_handovers_ticket_id_id", table_name="handovers")
    op.drop_index("ix_handovers_absence_id", table_name="handovers")
    op.drop_table("handovers")
    op.drop_table("team_continuity")
    op.drop_index(op.f("ix_routing_rules_team_id"), table_name="routing_rules")
    op.drop_table("routing_rules")
    op.drop_table("agent_skills")
    op.drop_index("ix_absences_user_id_starts_at", table_name="absences")
    op.drop_index(
        "ix_absences_unsettled_end",
        table_name="absences",
        postgresql_where=sa.text("returned_at IS NULL"),
    )
    op.drop_table("absences")
