"""Service levels: business calendars, SLA policies, clocks stored on the ticket, and a
catch-all team so that no ticket is left without one.

The targets fixed in code until now become the default policy, on a 24/7 calendar
("Around the clock"), so nothing changes for a desk until it configures its own;
existing tickets keep the due times they have and are put under that policy. The
watcher's indexes now leave paused clocks out, and a third watches next responses.

Revision ID: 9964954e48f3
Revises: d6f2a8b4c016
Create Date: 2026-12-06 02:10:00.000000+00:00
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "9964954e48f3"
down_revision: str | None = "d6f2a8b4c016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The targets app/sla/policy.py had in code (minutes), counted around the clock.
_DEFAULT_TARGETS = {
    "critical": {"first_response_minutes": 15, "resolution_minutes": 4 * 60},
    "high": {"first_response_minutes": 60, "resolution_minutes": 8 * 60},
    "medium": {"first_response_minutes": 4 * 60, "resolution_minutes": 24 * 60},
    "low": {"first_response_minutes": 8 * 60, "resolution_minutes": 3 * 24 * 60},
    "planning": {"first_response_minutes": 24 * 60, "resolution_minutes": 14 * 24 * 60},
}
DEFAULT_TEAM = "General"

_OLD_WAITING = "status IN ('new', 'open', 'pending')"
_NEW_WAITING = "status IN ('new', 'open', 'pending') AND sla_paused_since IS NULL"
_FIRST = (
    " AND first_response_at IS NULL "
    "AND first_response_breached_for IS DISTINCT FROM first_response_due_at"
)
_RESOLUTION = " AND resolution_breached_for IS DISTINCT FROM resolution_due_at"
_NEXT = (
    " AND next_response_due_at IS NOT NULL "
    "AND next_response_breached_for IS DISTINCT FROM next_response_due_at"
)


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
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
    ]


def _old_watch_indexes(waiting: str) -> None:
    op.create_index(
        "ix_tickets_first_response_watch",
        "tickets",
        ["priority", "first_response_due_at"],
        postgresql_where=sa.text(waiting + _FIRST),
    )
    op.create_index(
        "ix_tickets_resolution_watch",
        "tickets",
        ["priority", "resolution_due_at"],
        postgresql_where=sa.text(waiting + _RESOLUTION),
    )


def _sla_target_check(values: str) -> None:
    op.drop_constraint(op.f("ck_sla_alerts_sla_target"), "sla_alerts", type_="check")
    op.create_check_constraint("sla_target", "sla_alerts", f"target IN ({values})")


def upgrade() -> None:
    op.create_table(
        "calendars",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("always_open", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "hours",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "holidays",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendars")),
        sa.UniqueConstraint("name", name=op.f("uq_calendars_name")),
    )
    op.create_table(
        "sla_policies",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=True),
        sa.Column("calendar_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("is_default", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "conditions",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("targets", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "on_breach",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["calendar_id"],
            ["calendars.id"],
            name=op.f("fk_sla_policies_calendar_id_calendars"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_policies")),
        sa.UniqueConstraint("name", name=op.f("uq_sla_policies_name")),
    )
    op.create_index(
        op.f("ix_sla_policies_calendar_id"), "sla_policies", ["calendar_id"], unique=False
    )
    op.create_index(
        "uq_sla_policies_default",
        "sla_policies",
        ["is_default"],
        unique=True,
        postgresql_where=sa.text("is_default"),
    )
    op.add_column("tickets", sa.Column("sla_policy_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_tickets_sla_policy_id_sla_policies"),
        "tickets",
        "sla_policies",
        ["sla_policy_id"],
        ["id"],
        ondelete="SET NULL",
    )
    for column in (
        "next_response_due_at",
        "first_response_warn_at",
        "next_response_warn_at",
        "resolution_warn_at",
        "sla_paused_since",
        "next_response_breached_for",
        "sla_due_at",
        "unowned_alerted_at",
    ):
        op.add_column("tickets", sa.Column(column, sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "tickets",
        sa.Column("sla_paused_seconds", sa.Float(), server_default=sa.text("0"), nullable=False),
    )
    _sla_target_check("'first_response', 'next_response', 'resolution'")

    # The default policy: today's targets, around the clock.
    op.execute(
        "INSERT INTO calendars (name, time_zone, always_open) "
        "VALUES ('Around the clock', 'UTC', true)"
    )
    op.execute(
        sa.text(
            "INSERT INTO sla_policies (name, description, calendar_id, is_default, targets) "
            "SELECT 'Default', 'Applies when no other policy matches.', id, true, "
            "CAST(:targets AS jsonb) FROM calendars WHERE name = 'Around the clock'"
        ).bindparams(targets=json.dumps(_DEFAULT_TARGETS))
    )
    op.execute(
        "UPDATE tickets SET sla_policy_id = (SELECT id FROM sla_policies WHERE is_default), "
        "sla_due_at = CASE WHEN status IN ('new', 'open', 'pending') THEN LEAST("
        "CASE WHEN first_response_at IS NULL THEN first_response_due_at END, "
        "resolution_due_at) END"
    )
    # The catch-all team: a ticket no rule places and nobody names lands here.
    op.execute(
        f"INSERT INTO teams (name, assignment) VALUES ('{DEFAULT_TEAM}', 'round_robin') "  # noqa: S608
        "ON CONFLICT (name) DO NOTHING"
    )

    # Warnings of the tickets already there: the default policy's, around the clock,
    # when (1 - ratio) of the target is left (the default ratio, 0.8).
    op.execute(
        "UPDATE tickets SET "
        "first_response_warn_at = first_response_due_at - (first_response_due_at - created_at) "
        "* 0.2, resolution_warn_at = resolution_due_at - (resolution_due_at - created_at) * 0.2"
    )
    op.drop_index("ix_tickets_first_response_watch", table_name="tickets")
    op.drop_index("ix_tickets_resolution_watch", table_name="tickets")
    op.create_index(
        "ix_tickets_first_response_watch",
        "tickets",
        ["first_response_warn_at"],
        postgresql_where=sa.text(_NEW_WAITING + _FIRST),
    )
    op.create_index(
        "ix_tickets_next_response_watch",
        "tickets",
        ["next_response_warn_at"],
        postgresql_where=sa.text(_NEW_WAITING + _NEXT),
    )
    op.create_index(
        "ix_tickets_resolution_watch",
        "tickets",
        ["resolution_warn_at"],
        postgresql_where=sa.text(_NEW_WAITING + _RESOLUTION),
    )
    op.create_index("ix_tickets_sla_due", "tickets", ["sla_due_at", "id"])
    op.create_index(
        "ix_tickets_unowned",
        "tickets",
        ["created_at"],
        postgresql_where=sa.text(
            f"owner_id IS NULL AND unowned_alerted_at IS NULL AND {_OLD_WAITING}"
        ),
    )


def downgrade() -> None:
    op.drop_index("ix_tickets_unowned", table_name="tickets")
    op.drop_index("ix_tickets_sla_due", table_name="tickets")
    op.drop_index("ix_tickets_next_response_watch", table_name="tickets")
    op.drop_index("ix_tickets_resolution_watch", table_name="tickets")
    op.drop_index("ix_tickets_first_response_watch", table_name="tickets")
    _old_watch_indexes(_OLD_WAITING)
    op.execute("DELETE FROM sla_alerts WHERE target = 'next_response'")
    _sla_target_check("'first_response', 'resolution'")
    op.drop_constraint(op.f("fk_tickets_sla_policy_id_sla_policies"), "tickets", type_="foreignkey")
    for column in (
        "resolution_warn_at",
        "next_response_warn_at",
        "first_response_warn_at",
        "sla_paused_seconds",
        "unowned_alerted_at",
        "sla_due_at",
        "next_response_breached_for",
        "sla_paused_since",
        "next_response_due_at",
        "sla_policy_id",
    ):
        op.drop_column("tickets", column)
    op.drop_index("uq_sla_policies_default", table_name="sla_policies")
    op.drop_index(op.f("ix_sla_policies_calendar_id"), table_name="sla_policies")
    op.drop_table("sla_policies")
    op.drop_table("calendars")
    # The catch-all team stays: tickets may be in it by now.
