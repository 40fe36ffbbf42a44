"""Token scopes (what an integration's token may read beyond its role, e.g.
`metrics:read`) and the webhook endpoints an alert rule posts its alerts to.

Revision ID: d4a8f2c6e1b3
Revises: 5d1f0a7c3e92
Create Date: 2026-12-06 05:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "d4a8f2c6e1b3"
down_revision: str | None = "5d1f0a7c3e92"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "api_tokens",
        sa.Column(
            "scopes",
            postgresql.ARRAY(sa.String(32)),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
    )
    op.add_column(
        "alert_rules",
        sa.Column(
            "webhook_ids",
            postgresql.ARRAY(sa.BigInteger()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
    )


def downgrade() -> None:
    op.drop_column("alert_rules", "webhook_ids")
    op.drop_column("api_tokens", "scopes")
