"""Indexes for search by external reference and for counting dead deliveries.

`q=` now also finds a ticket by its `external_ref` (the reference in the system that
filed it), which the unique index on (created_by_id, external_ref) cannot serve alone;
/metrics counts dead deliveries per channel on every scrape.

Revision ID: 7c2d9e4f1a36
Revises: 5b7e0c3a9f14
Create Date: 2026-12-05 11:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7c2d9e4f1a36"
down_revision: str | None = "5b7e0c3a9f14"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_tickets_external_ref",
        "tickets",
        ["external_ref"],
        postgresql_where=sa.text("external_ref IS NOT NULL"),
    )
    op.create_index(
        "ix_notification_deliveries_dead",
        "notification_deliveries",
        ["channel"],
        postgresql_where=sa.text("status = 'dead'"),
    )


def downgrade() -> None:
    op.drop_index("ix_notification_deliveries_dead", table_name="notification_deliveries")
    op.drop_index("ix_tickets_external_ref", table_name="tickets")
