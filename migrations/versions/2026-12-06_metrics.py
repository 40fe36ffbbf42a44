"""Metrics: per-ticket facts and hourly/daily rollups, kept by a reaction; threshold
alert rules (with the defaults a fresh install ships) and their history.

`metric_hist_add` adds two histograms element by element (arrays of different lengths:
the missing tail counts as zero); `metric_hist_sum` is its aggregate, for the compactor
that moves the deltas the reaction appends into the rollups.

Revision ID: b7e3c1d9a2f4
Revises: 3c5a7e91d2f4
Create Date: 2026-12-06 02:30:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "b7e3c1d9a2f4"
down_revision: str | None = "3c5a7e91d2f4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COUNTERS = (
    "created",
    "resolved",
    "first_resolved",
    "fcr",
    "reopened",
    "reopens",
    "surveys",
    "csat_answered",
    "csat_positive",
    "sla_ok",
    "breaches",
    "open_delta",
    "handovers",
    "complaints",
    "suggestions",
)


def upgrade() -> None:
    op.create_table(
        "metric_ticket_facts",
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("team_id", sa.BigInteger(), nullable=True),
        sa.Column("agent_id", sa.BigInteger(), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=True),
        sa.Column("priority", sa.String(length=32), nullable=False),
        sa.Column("tags", postgresql.ARRAY(sa.String(length=50)), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reopens", sa.Integer(), nullable=False),
        sa.Column("agent_replies", sa.Integer(), nullable=False),
        sa.Column("awaiting_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("breached", sa.Boolean(), nullable=False),
        sa.Column("fcr_counted", sa.Boolean(), nullable=False),
        sa.Column("res_team_id", sa.BigInteger(), nullable=True),
        sa.Column("res_agent_id", sa.BigInteger(), nullable=True),
        sa.Column("res_channel", sa.String(length=32), nullable=True),
        sa.Column("res_category", sa.String(length=100), nullable=True),
        sa.Column("res_priority", sa.String(length=32), nullable=True),
        sa.Column("res_tags", postgresql.ARRAY(sa.String(length=50)), nullable=True),
        sa.Column("imported", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_metric_ticket_facts_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_metric_ticket_facts")),
    )
    op.create_index(
        "ix_metric_ticket_facts_created_at", "metric_ticket_facts", ["created_at"], unique=False
    )
    op.create_table(
        "metric_rollups",
        sa.Column("grain", sa.String(length=1), nullable=False),
        sa.Column("dim", sa.String(length=16), nullable=False),
        sa.Column("val", sa.String(length=120), nullable=False),
        sa.Column("sub", sa.String(length=160), nullable=False),
        sa.Column("bucket", sa.DateTime(timezone=True), nullable=False),
        *[
            sa.Column(name, sa.Integer(), server_default=sa.text("0"), nullable=False)
            for name in _COUNTERS
        ],
        *[
            column
            for time in ("frt", "nrt", "ttr")
            for column in (
                sa.Column(f"{time}_n", sa.Integer(), server_default=sa.text("0"), nullable=False),
                sa.Column(
                    f"{time}_sum", sa.BigInteger(), server_default=sa.text("0"), nullable=False
                ),
                sa.Column(f"{time}_hist", postgresql.ARRAY(sa.Integer()), nullable=True),
            )
        ],
        sa.PrimaryKeyConstraint(
            "grain", "dim", "val", "sub", "bucket", name=op.f("pk_metric_rollups")
        ),
    )
    op.create_table(
        "metric_rollup_deltas",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("grain", sa.String(length=1), nullable=False),
        sa.Column("dim", sa.String(length=16), nullable=False),
        sa.Column("val", sa.String(length=120), nullable=False),
        sa.Column("sub", sa.String(length=160), nullable=False),
        sa.Column("bucket", sa.DateTime(timezone=True), nullable=False),
        *[
            sa.Column(name, sa.Integer(), server_default=sa.text("0"), nullable=False)
            for name in _COUNTERS
        ],
        *[
            column
            for time in ("frt", "nrt", "ttr")
            for column in (
                sa.Column(f"{time}_n", sa.Integer(), server_default=sa.text("0"), nullable=False),
                sa.Column(
                    f"{time}_sum", sa.BigInteger(), server_default=sa.text("0"), nullable=False
                ),
                sa.Column(f"{time}_hist", postgresql.ARRAY(sa.Integer()), nullable=True),
            )
        ],
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_rollup_deltas")),
    )
    op.create_index(
        "ix_metric_rollup_deltas_key",
        "metric_rollup_deltas",
        ["grain", "dim", "val", "sub", "bucket"],
        unique=False,
    )
    op.execute(
        """
        CREATE FUNCTION metric_hist_add(a integer[], b integer[]) RETURNS integer[]
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT CASE
                WHEN a IS NULL THEN b
                WHEN b IS NULL THEN a
                ELSE (SELECT array_agg(coalesce(x, 0) + coalesce(y, 0) ORDER BY i)
                      FROM unnest(a, b) WITH ORDINALITY AS u(x, y, i))
            END
        $$
        """
    )
    # The compactor sums many deltas of one key into its rollup row.
    op.execute(
        "CREATE AGGREGATE metric_hist_sum(integer[]) (SFUNC = metric_hist_add, STYPE = integer[])"
    )

    op.create_table(
        "alert_rules",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("filter_dim", sa.String(length=16), nullable=True),
        sa.Column("filter_value", sa.String(length=120), nullable=True),
        sa.Column("window_minutes", sa.Integer(), nullable=False),
        sa.Column("comparison", sa.String(length=8), nullable=False),
        sa.Column("threshold", sa.Double(), nullable=False),
        sa.Column("min_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("cooldown_minutes", sa.Integer(), nullable=False),
        sa.Column(
            "recipient_ids",
            postgresql.ARRAY(sa.BigInteger()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("firing", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("last_fired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_value", sa.Double(), nullable=True),
        sa.Column("last_evaluated_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_rules")),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("rule_id", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["alert_rules.id"],
            name=op.f("fk_alerts_rule_id_alert_rules"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    op.create_index("ix_alerts_rule_id_id", "alerts", ["rule_id", "id"], unique=False)
    # The critical thresholds a fresh install ships with (recipients: every supervisor
    # and admin). Tune or disable them through /api/v1/alert-rules.
    op.execute(
        """
        INSERT INTO alert_rules
            (name, metric, window_minutes, comparison, threshold, min_count, cooldown_minutes)
        VALUES
            ('Unassigned tickets waiting over an hour', 'unassigned_waiting', 60, 'gte', 1, 0, 60),
            ('SLA breaches in the last hour', 'sla_breaches', 60, 'gte', 5, 0, 60),
            ('CSAT below 70 % over a day', 'csat', 1440, 'lt', 0.7, 10, 240),
            ('Complaint spike in the last hour', 'complaints', 60, 'gte', 5, 0, 60)
        """
    )


def downgrade() -> None:
    op.execute("DROP AGGREGATE metric_hist_sum(integer[])")
    op.drop_index("ix_alerts_rule_id_id", table_name="alerts")
    op.drop_table("alerts")
    op.drop_table("alert_rules")
    op.execute("DROP FUNCTION metric_hist_add(integer[], integer[])")
    op.drop_index("ix_metric_rollup_deltas_key", table_name="metric_rollup_deltas")
    op.drop_table("metric_rollup_deltas")
    op.drop_table("metric_rollups")
    op.drop_index("ix_metric_ticket_facts_created_at", table_name="metric_ticket_facts")
    op.drop_table("metric_ticket_facts")
