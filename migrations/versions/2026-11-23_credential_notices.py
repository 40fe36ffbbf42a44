"""Credential notices: every change to a user or to a token's validity is announced on
the helpdesk_credentials channel, so each process's token cache forgets it at commit,
whichever way it was made (the API, the command line, SQL by hand).

Revision ID: 9d41c7e2a8b0
Revises: 9d41c2b7e5a0
Create Date: 2026-11-23 13:20:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "9d41c7e2a8b0"
down_revision: str | None = "9d41c2b7e5a0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION helpdesk_credentials_changed() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'TRUNCATE' THEN
                PERFORM pg_notify('helpdesk_credentials', '{"all": true}');
            ELSIF TG_TABLE_NAME = 'users' THEN
                PERFORM pg_notify('helpdesk_credentials',
                                  json_build_object('user_id', OLD.id)::text);
            ELSE
                PERFORM pg_notify('helpdesk_credentials',
                                  json_build_object('token_id', OLD.id)::text);
            END IF;
            RETURN NULL;
        END;
        $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER users_credentials_changed
        AFTER UPDATE ON users FOR EACH ROW
        WHEN (OLD.* IS DISTINCT FROM NEW.*)
        EXECUTE FUNCTION helpdesk_credentials_changed()
        """
    )
    # last_used_at changes on use and changes nothing a cache holds: not announced.
    op.execute(
        """
        CREATE TRIGGER api_tokens_credentials_changed
        AFTER UPDATE ON api_tokens FOR EACH ROW
        WHEN (
            OLD.revoked_at IS DISTINCT FROM NEW.revoked_at
            OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
            OR OLD.user_id IS DISTINCT FROM NEW.user_id
            OR OLD.token_hash IS DISTINCT FROM NEW.token_hash
        )
        EXECUTE FUNCTION helpdesk_credentials_changed()
        """
    )
    for table in ("users", "api_tokens"):
        op.execute(
            f"CREATE TRIGGER {table}_credentials_deleted AFTER DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION helpdesk_credentials_changed()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_credentials_truncated AFTER TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION helpdesk_credentials_changed()"
        )


def downgrade() -> None:
    for table in ("users", "api_tokens"):
        op.execute(f"DROP TRIGGER {table}_credentials_truncated ON {table}")
        op.execute(f"DROP TRIGGER {table}_credentials_deleted ON {table}")
    op.execute("DROP TRIGGER api_tokens_credentials_changed ON api_tokens")
    op.execute("DROP TRIGGER users_credentials_changed ON users")
    op.execute("DROP FUNCTION helpdesk_credentials_changed()")
