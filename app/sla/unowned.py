"""No ticket left unseen: one that nobody has taken `unowned_alert_minutes` after it came
in alerts its team's supervisors (every supervisor when the team has none), once.

Run with each watcher pass. The candidates come from the partial index
`ix_tickets_unowned` (open work without an owner, not yet alerted, by arrival), so a
pass with nothing to say reads a few index entries; `unowned_alerted_at` marks a ticket
as told, in the same transaction as the notices, so each is told once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import Role, TeamMember, Ticket, TicketStatus, User
from app.notifications.outbox import enqueue_personal_notice
from app.notifications.rules import NoticeTopic
from app.sla.notices import UNOWNED_ALERT_KIND

BATCH_SIZE = 100
_OPEN = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING)


async def supervisors_of(session: AsyncSession, team_id: int | None) -> list[int]:
    """The active supervisors of a team; with none there, every active supervisor."""
    everyone = select(User.id).where(User.role == Role.SUPERVISOR, User.active.is_(True))
    if team_id is not None:
        in_team = everyone.join(TeamMember, TeamMember.user_id == User.id).where(
            TeamMember.team_id == team_id
        )
        found = sorted(await session.scalars(in_team))
        if found:
            return found
    return sorted(await session.scalars(everyone))


async def alert_batch(session: AsyncSession, now: datetime, after: timedelta) -> int:
    tickets = list(
        await session.scalars(
            select(Ticket)
            .where(
                Ticket.owner_id.is_(None),
                Ticket.status.in_(_OPEN),
                Ticket.unowned_alerted_at.is_(None),
                Ticket.created_at <= now - after,
            )
            .order_by(Ticket.created_at)
            .limit(BATCH_SIZE)
            .with_for_update(skip_locked=True)
        )
    )
    for ticket in tickets:
        ticket.unowned_alerted_at = now
        waited = int((now - ticket.created_at).total_seconds() // 60)
        for recipient in await supervisors_of(session, ticket.team_id):
            await enqueue_personal_notice(
                session,
                recipient,
                NoticeTopic.ASSIGNMENT,
                kind=UNOWNED_ALERT_KIND,
                data={"ticket": {"id": ticket.id, "subject": ticket.subject}, "minutes": waited},
                ticket=ticket,
            )
    return len(tickets)


async def alert_all(sessionmaker: async_sessionmaker[AsyncSession], after: timedelta) -> int:
    total = 0
    while True:
        async with sessionmaker() as session, session.begin():
            told = await alert_batch(session, datetime.now(UTC), after)
        total += told
        if told < BATCH_SIZE:
            return total
