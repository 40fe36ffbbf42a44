"""Rate limit buckets: one per user, shared by every process and host.

The limit was a token bucket per API token in each process's memory, so N workers
allowed N times the limit and a user with many tokens multiplied it again. Each
process now leases quota from its user's row here (app/auth/rate_limit.py).

Revision ID: 5b7e0c3a9f14
Revises: 9d41c7e2a8b0
Create Date: 2026-12-05 10:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b7e0c3a9f14"
down_revision: str | None = "9d41c7e2a8b0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_buckets",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("tat", sa.Double(), nullable=False),
        sa.Column("granted", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_rate_limit_buckets_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_rate_limit_buckets")),
        prefixes=["UNLOGGED"],
    )


def downgrade() -> None:
    op.drop_table("rate_limit_buckets")
