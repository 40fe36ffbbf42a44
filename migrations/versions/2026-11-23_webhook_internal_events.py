"""Webhooks: internal events only for endpoints that ask for them.

Internal notes and internal events (field and priority changes) left the desk for every
endpoint subscribed to their kind. Now an endpoint receives them only with
include_internal; existing endpoints start without (the safe side), and an admin who
wants them for a trusted integration turns it on.

Revision ID: 9d41c2b7e5a0
Revises: 2fe00b87994c
Create Date: 2026-11-23 13:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9d41c2b7e5a0"
down_revision: str | None = "2fe00b87994c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "webhook_endpoints",
        sa.Column(
            "include_internal", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
    )


def downgrade() -> None:
    op.drop_column("webhook_endpoints", "include_internal")
