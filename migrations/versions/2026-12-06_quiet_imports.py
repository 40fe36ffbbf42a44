"""History import: imported survey answers say so, and imported events wake nobody.

- `satisfaction_surveys.answered_via` takes `imported` (a rating brought in from
  another helpdesk answers its resolution's survey).
- The trigger that announces each new event to the live hubs (pg_notify) is not fired
  for an event marked `imported`: an import of thousands of events sends no
  notifications at all. (The hubs also leave such events out of what they read.)

Revision ID: e4a91c7f2b6d
Revises: 5f1c9a7d3b20
Create Date: 2026-12-06 05:00:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "e4a91c7f2b6d"
down_revision: str | None = "5f1c9a7d3b20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _answered_via(values: str) -> None:
    op.drop_constraint(
        op.f("ck_satisfaction_surveys_survey_answer_via"), "satisfaction_surveys", type_="check"
    )
    op.create_check_constraint(
        "survey_answer_via", "satisfaction_surveys", f"answered_via IN ({values})"
    )


def _announce(when: str) -> None:
    op.execute("DROP TRIGGER ticket_events_announce ON ticket_events")
    op.execute(
        "CREATE TRIGGER ticket_events_announce AFTER INSERT ON ticket_events "
        f"FOR EACH ROW {when} EXECUTE FUNCTION announce_ticket_event()"
    )


def upgrade() -> None:
    _answered_via("'link', 'portal', 'imported'")
    # `->` rather than `?`: no placeholder lookalike in the statement.
    _announce("WHEN (NEW.data -> 'imported' IS NULL)")


def downgrade() -> None:
    op.execute(
        "UPDATE satisfaction_surveys SET answered_via = NULL WHERE answered_via = 'imported'"
    )
    _answered_via("'link', 'portal'")
    _announce("")
