"""Metrics: monthly rollups beside the hourly and daily ones.

A summary over a year read 365 daily rows per dimension value; with monthly rows it
reads about a dozen, plus the days and hours at the window's edges. The reaction now
appends a monthly delta with each hourly and daily one. This migration makes the
monthly rows of what is already counted: the daily rollups and the daily deltas not yet
compacted, summed per UTC month.

Revision ID: 5f1c9a7d3b20
Revises: b7e3c1d9a2f4
Create Date: 2026-12-06 05:10:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "5f1c9a7d3b20"
down_revision: str | None = "b7e3c1d9a2f4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here (a migration never imports app/): the rollup columns at this revision.
_SUMS = (
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
    "frt_n",
    "frt_sum",
    "nrt_n",
    "nrt_sum",
    "ttr_n",
    "ttr_sum",
)
_HISTS = ("frt_hist", "nrt_hist", "ttr_hist")
_KEY = "dim, val, sub"
_MONTH = "date_trunc('month', bucket, 'UTC')"


def upgrade() -> None:
    columns = ", ".join((*_SUMS, *_HISTS))
    op.execute(
        f"""
        INSERT INTO metric_rollups (grain, {_KEY}, bucket, {columns})
        SELECT 'm', {_KEY}, {_MONTH}, {", ".join(f"sum({c})" for c in _SUMS)},
               {", ".join(f"metric_hist_sum({h})" for h in _HISTS)}
        FROM metric_rollups WHERE grain = 'd'
        GROUP BY {_KEY}, {_MONTH}
        """  # noqa: S608 - column names are ours
    )
    op.execute(
        f"""
        INSERT INTO metric_rollup_deltas (grain, {_KEY}, bucket, {columns})
        SELECT 'm', {_KEY}, {_MONTH}, {columns}
        FROM metric_rollup_deltas WHERE grain = 'd'
        """  # noqa: S608 - column names are ours
    )


def downgrade() -> None:
    op.execute("DELETE FROM metric_rollups WHERE grain = 'm'")
    op.execute("DELETE FROM metric_rollup_deltas WHERE grain = 'm'")
