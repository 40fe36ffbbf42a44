"""Customer audience: the customer's own version and time of last change of a ticket.

A customer's ETag and `updated_at` must move only when something they can see changes
(an internal note, a staff tag or a priority change must not tell them anything
happened). `customer_version` and `customer_updated_at` are kept by a trigger on the
columns a customer sees (app/events/audience.py, CUSTOMER_VISIBLE_COLUMNS; a test keeps
the two lists equal) and on the pointer to the newest public event, whichever way the
row is changed. Existing tickets start from their current version and time, so no
client's cached ETag breaks at the upgrade.

Revision ID: 3c5a7e91d2f4
Revises: 9964954e48f3
Create Date: 2026-12-06 02:30:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3c5a7e91d2f4"
down_revision: str | None = "9964954e48f3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here (a migration never imports app/): what a customer sees of the row.
_VISIBLE = (
    "subject",
    "description",
    "status",
    "channel",
    "urgency",
    "category",
    "requester_id",
    "owner_id",
    "team_id",
    "external_ref",
    "follow_up_of_id",
    "first_response_at",
    "resolved_at",
    "first_response_due_at",
    "next_response_due_at",
    "resolution_due_at",
    "sla_paused_since",
    "merged_into_id",
)


def upgrade() -> None:
    op.add_column(
        "tickets",
        sa.Column("customer_version", sa.Integer(), server_default=sa.text("1"), nullable=False),
    )
    op.add_column(
        "tickets",
        sa.Column(
            "customer_updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    )
    op.execute("UPDATE tickets SET customer_version = version, customer_updated_at = updated_at")
    # A customer's list is ordered by the time they were shown, as staff lists by theirs.
    op.create_index(
        "ix_tickets_requester_customer_activity",
        "tickets",
        [
            "requester_id",
            sa.literal_column("customer_updated_at DESC"),
            sa.literal_column("id DESC"),
        ],
    )
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in _VISIBLE)
    op.execute(
        """
        CREATE FUNCTION helpdesk_customer_version() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            NEW.customer_version := OLD.customer_version + 1;
            NEW.customer_updated_at := CASE
                WHEN NEW.updated_at IS DISTINCT FROM OLD.updated_at THEN NEW.updated_at
                ELSE greatest(now(), OLD.customer_updated_at)
            END;
            RETURN NEW;
        END;
        $$
        """
    )
    # A new public event moves the pointer; the first one (the ticket's filing, set right
    # after its INSERT) is the version the customer was given at filing.
    op.execute(
        f"""
        CREATE TRIGGER tickets_customer_version
        BEFORE UPDATE ON tickets FOR EACH ROW
        WHEN (
            {changed}
            OR (OLD.last_public_event_id IS NOT NULL
                AND OLD.last_public_event_id IS DISTINCT FROM NEW.last_public_event_id)
        )
        EXECUTE FUNCTION helpdesk_customer_version()
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER tickets_customer_version ON tickets")
    op.execute("DROP FUNCTION helpdesk_customer_version()")
    op.drop_index("ix_tickets_requester_customer_activity", table_name="tickets")
    op.drop_column("tickets", "customer_updated_at")
    op.drop_column("tickets", "customer_version")
