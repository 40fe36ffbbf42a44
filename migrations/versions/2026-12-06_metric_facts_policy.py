"""Metrics: the SLA policy a ticket's facts count business time on.

`metric_ticket_facts.sla_policy_id`: the policy in force as the fold last saw it (from
`ticket.created` and the `ticket.updated` the SLA records when it moves a ticket to
another policy). Rows folded before this revision take the ticket's policy now, the
best the timeline had to say about them. No foreign key: a policy removed later leaves
the id behind, and its tickets count wall-clock time from then on.

Revision ID: 5d1f0a7c3e92
Revises: e4a91c7f2b6d
Create Date: 2026-12-06 05:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5d1f0a7c3e92"
down_revision: str | None = "e4a91c7f2b6d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("metric_ticket_facts", sa.Column("sla_policy_id", sa.BigInteger(), nullable=True))
    op.execute(
        """
        UPDATE metric_ticket_facts AS f SET sla_policy_id = t.sla_policy_id
        FROM tickets AS t WHERE t.id = f.ticket_id AND t.sla_policy_id IS NOT NULL
        """
    )


def downgrade() -> None:
    op.drop_column("metric_ticket_facts", "sla_policy_id")
