"""Start-up wiring: what every process that records events or sends notices needs.

The reactions are listed here, in the order they run, and nowhere else: a domain that
must act when tickets change is one more line below (app/events/reactions.py says how
reactions run; docs/architecture.md where a new capability plugs in).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.alerts import notices as alert_notices
from app.chats import reactions as chats
from app.chats import transcript as chat_transcript
from app.config import Settings
from app.continuity import reactions as continuity
from app.continuity import wording as continuity_wording
from app.db import create_sessionmaker
from app.events import audience
from app.events.kinds import EventKind
from app.events.reactions import Reactions, bind
from app.feedback import complaints, invitations
from app.feedback.setup import configure as configure_feedback
from app.inbound import replies as channel_replies
from app.merging import notices as merge_notices
from app.merging import reactions as merging
from app.metrics import reactions as metrics
from app.notifications import reactions as notifications
from app.notifications.setup import configure_outbox
from app.problems import reactions as problems
from app.signin.setup import configure as configure_sign_in
from app.sla import notices as sla_notices
from app.sla import reactions as sla


def reactions() -> Reactions:
    return (
        Reactions()
        # Before a new ticket's row goes in: the row is written once, as it ends up.
        .on_filing(sla.place_in_team)  # no ticket without a team: else the catch-all one
        .on_filing(sla.due_on_filing)  # its SLA policy and due times, in business time
        .on_filing(continuity.route_new_tickets)  # its first owner, by its team's mode
        # After events are appended. What a reaction records is reacted to in the next
        # round, by every reaction that wants it.
        .on({EventKind.FEEDBACK_RECEIVED}, complaints.raise_complained_tickets)
        .on({EventKind.PRIORITY_CHANGED, EventKind.TICKET_UPDATED}, sla.retarget)
        .on({EventKind.STATUS_CHANGED}, sla.pause_and_resume)
        .on({EventKind.MESSAGE_CREATED}, sla.on_messages)
        .on({EventKind.SLA_BREACHED}, sla.act_on_breaches)  # per policy: supervisors, priority
        .on({EventKind.SLA_BREACHED}, continuity.escalate_breaches)  # per policy: next level
        .on({EventKind.OWNER_CHANGED}, continuity.brief_new_owners)
        .on({EventKind.STATUS_CHANGED}, invitations.invite_on_resolution)
        .on({EventKind.STATUS_CHANGED}, problems.resolve_incidents)  # a problem's, with it
        .on({EventKind.STATUS_CHANGED}, merging.tell_merged_requesters_of_resolution)
        .on({EventKind.STATUS_CHANGED}, chats.mail_transcripts)  # a chat ended, if asked
        .on({EventKind.TICKET_MERGED}, merging.tell_requesters_where_merged)
        # A public reply on a connector's conversation goes back out through its webhook.
        .on({EventKind.MESSAGE_CREATED}, channel_replies.send_replies)
        .on(metrics.KINDS, metrics.keep_figures)  # the rollups the dashboards read
        # Last, once nothing more is recorded: who hears what, into the outbox.
        .on_settled(notifications.write_outbox)
    )


def sessionmaker_for(
    engine: AsyncEngine, with_reactions: Reactions | None = None
) -> async_sessionmaker[AsyncSession]:
    """Sessions whose recorded events run the reactions above (or `with_reactions`)."""
    maker = create_sessionmaker(engine)
    bind(maker, with_reactions or reactions())
    return maker


def configure(settings: Settings) -> None:
    """The settings and notice wording of the outbox and of the domains that add notices."""
    configure_outbox(settings)
    # Which staff-only ticket fields customers are shown (none unless an admin says).
    audience.configure(frozenset(settings.customer_visible_fields))
    configure_feedback(settings)  # survey links and feedback wording in emails
    continuity_wording.register()
    merge_notices.register()  # where a merged request lives now
    configure_sign_in(settings)  # sign-in links: their settings and email
    chat_transcript.register()  # a chat's transcript, at its end or when it goes to email
    sla.configure(settings.default_team, settings.sla_warning_ratio)  # catch-all team
    sla_notices.register()  # the answer time stated to customers, and late-answer notices
    alert_notices.register()  # how a fired or resolved alert reads
