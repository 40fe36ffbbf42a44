"""Channels: one customer across channels, merged tickets, problems, sign-in by link.

- `identities`: the email addresses, phone numbers and handles of each person. Every
  user's own address becomes one (backfilled here), and a trigger keeps it so for
  users made or changed later, whichever way (the API, the command line, SQL).
- `customer_merges`: customer records merged into another.
- `ticket_links` and `tickets.merged_into_id` / `tickets.problem_id`: duplicates merged
  into a primary, incidents tied to a problem.
- `sign_in_requests`, `sign_in_links`, `sign_in_throttle`: customer sign-in by emailed
  link, and the counters that limit it across processes.

Revision ID: c4a7e1d05b16
Revises: e3a1b7c40d12
Create Date: 2026-12-05 22:54:05.434587+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c4a7e1d05b16"
down_revision: str | None = "e3a1b7c40d12"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# A user's address is one of their identities. A new address is added (the old one stays
# theirs: people keep their old addresses); an address that is already someone else's
# identity is refused with unique_violation, which the API answers with 409.
# Addresses at no-email.invalid stand in for customers known only by phone or handle
# (app/models/identity.py): never an identity.
_EMAIL_IDENTITY_FUNCTION = """
CREATE FUNCTION helpdesk_user_email_identity() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    address text := lower(NEW.email);
BEGIN
    IF TG_OP = 'UPDATE' AND lower(OLD.email) = address THEN
        RETURN NULL;
    END IF;
    IF address LIKE '%@no-email.invalid' THEN
        RETURN NULL;
    END IF;
    INSERT INTO identities (user_id, kind, source, value)
    VALUES (NEW.id, 'email', '', address)
    ON CONFLICT (kind, source, value) DO NOTHING;
    IF NOT EXISTS (
        SELECT 1 FROM identities
        WHERE kind = 'email' AND source = '' AND value = address AND user_id = NEW.id
    ) THEN
        RAISE unique_violation USING
            MESSAGE = format('the address %s is an identity of another user', address),
            CONSTRAINT = 'uq_identities_kind_source_value';
    END IF;
    RETURN NULL;
END;
$$
"""


def upgrade() -> None:
    op.create_table(
        "sign_in_requests",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_requests")),
    )
    op.create_table(
        "sign_in_throttle",
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hits", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start", name=op.f("pk_sign_in_throttle")),
    )
    op.create_index(
        "ix_sign_in_throttle_window_start", "sign_in_throttle", ["window_start"], unique=False
    )
    op.create_table(
        "customer_merges",
        sa.Column("merged_id", sa.BigInteger(), nullable=False),
        sa.Column("survivor_id", sa.BigInteger(), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_customer_merges_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["merged_id"],
            ["users.id"],
            name=op.f("fk_customer_merges_merged_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["survivor_id"],
            ["users.id"],
            name=op.f("fk_customer_merges_survivor_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("merged_id", name=op.f("pk_customer_merges")),
    )
    op.create_index(
        op.f("ix_customer_merges_survivor_id"), "customer_merges", ["survivor_id"], unique=False
    )
    op.create_table(
        "identities",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "email",
                "phone",
                "handle",
                name="identity_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("source", sa.String(length=32), server_default=sa.text("''"), nullable=False),
        sa.Column("value", sa.String(length=320), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_identities_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identities")),
        sa.UniqueConstraint(
            "kind", "source", "value", name=op.f("uq_identities_kind_source_value")
        ),
    )
    op.create_index("ix_identities_user_id", "identities", ["user_id"], unique=False)
    op.create_table(
        "sign_in_links",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("api_token_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["api_token_id"],
            ["api_tokens.id"],
            name=op.f("fk_sign_in_links_api_token_id_api_tokens"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_sign_in_links_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_sign_in_links_token_hash")),
    )
    op.create_index("ix_sign_in_links_user_id", "sign_in_links", ["user_id"], unique=False)
    op.create_table(
        "ticket_links",
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "relation",
            sa.Enum(
                "merged_into",
                "merged_from",
                "problem",
                "incident",
                name="link_relation",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("linked_id", sa.BigInteger(), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_ticket_links_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_links_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ticket_id", "relation", "linked_id", name=op.f("pk_ticket_links")),
    )
    op.add_column("tickets", sa.Column("merged_into_id", sa.BigInteger(), nullable=True))
    op.add_column("tickets", sa.Column("problem_id", sa.BigInteger(), nullable=True))
    op.execute(
        """
        INSERT INTO identities (user_id, kind, source, value)
        SELECT id, 'email', '', lower(email) FROM users
        WHERE lower(email) NOT LIKE '%@no-email.invalid'
        """
    )
    op.execute(_EMAIL_IDENTITY_FUNCTION)
    op.execute(
        """
        CREATE TRIGGER users_email_identity
        AFTER INSERT OR UPDATE OF email ON users FOR EACH ROW
        EXECUTE FUNCTION helpdesk_user_email_identity()
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER users_email_identity ON users")
    op.execute("DROP FUNCTION helpdesk_user_email_identity()")
    op.drop_column("tickets", "problem_id")
    op.drop_column("tickets", "merged_into_id")
    op.drop_table("ticket_links")
    op.drop_index("ix_sign_in_links_user_id", table_name="sign_in_links")
    op.drop_table("sign_in_links")
    op.drop_index("ix_identities_user_id", table_name="identities")
    op.drop_table("identities")
    op.drop_index(op.f("ix_customer_merges_survivor_id"), table_name="customer_merges")
    op.drop_table("customer_merges")
    op.drop_index("ix_sign_in_throttle_window_start", table_name="sign_in_throttle")
    op.drop_table("sign_in_throttle")
    op.drop_table("sign_in_requests")
