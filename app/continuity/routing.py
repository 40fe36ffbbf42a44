"""Routing: which team a new ticket goes to, and which member of it gets it.

Team: the ticket's own, or the one its category is routed to (routing rules, applied
when the ticket is filed). Member: by the team's mode among those available now
(active, not away) whose skills cover the ticket's category; `manual` leaves the
ticket in the team queue. `round_robin` gives it to whoever was routed to least
recently; `least_loaded` to whoever has the least open work, weighted by priority
(ties: least recently routed).
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    DateTime,
    Select,
    String,
    bindparam,
    exists,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import (
    AgentSkill,
    AssignmentMode,
    Priority,
    Role,
    Team,
    TeamMember,
    Ticket,
    TicketStatus,
    User,
)
from app.people.availability import available_clause

# What an owner still has to work on: the tickets a handover moves.
OPEN_WORK = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING)

# How much one open ticket of each priority weighs in a member's load.
PRIORITY_WEIGHT: dict[Priority, int] = {
    Priority.CRITICAL: 8,
    Priority.HIGH: 4,
    Priority.MEDIUM: 2,
    Priority.LOW: 1,
    Priority.PLANNING: 1,
}


def _covers(category: Any) -> ColumnElement[bool]:
    """Skills limit who gets what: someone with skills takes only those categories."""
    if category is None:
        return true()
    has_skills = exists().where(AgentSkill.user_id == User.id)
    has_this = exists().where(AgentSkill.user_id == User.id, AgentSkill.category == category)
    return or_(~has_skills, has_this)


@functools.cache
def _members_query(by_category: bool, supervisors_only: bool) -> Select[User]:
    """Who in a team may get a ticket now: built once per shape, with the team, the time
    and the category as parameters (every routed ticket runs it)."""
    category = bindparam("category", type_=String) if by_category else None
    query = (
        select(User)
        .join(TeamMember, TeamMember.user_id == User.id)
        .where(
            TeamMember.team_id == bindparam("team_id", type_=BigInteger),
            available_clause(bindparam("now", type_=DateTime(timezone=True))),
        )
        .where(_covers(category))
        .order_by(User.id)
    )
    if supervisors_only:
        query = query.where(User.role == Role.SUPERVISOR)
    return query


# Beyond this many open tickets someone counts as full: counting further would make
# every routing decision as slow as the busiest agent's queue is long. At 500 a ticket
# routed to a team of nine busy agents read 4,500 index entries (6.5 ms of PostgreSQL,
# a third of its work per created ticket in bench/); nobody with 100 open tickets has
# room for one more, whatever their exact number.
LOAD_CAP = 100

_WEIGHT_SQL = " ".join(f"WHEN '{p.value}' THEN {n}" for p, n in PRIORITY_WEIGHT.items())
_OPEN_SQL = ", ".join(f"'{s.value}'" for s in OPEN_WORK)
_LOADS = text(
    f"""
    SELECT m.id, coalesce((
        SELECT sum(CASE w.priority {_WEIGHT_SQL} ELSE 1 END)
        FROM (
            SELECT priority FROM tickets
            WHERE owner_id = m.id AND status IN ({_OPEN_SQL})
            LIMIT :cap
        ) w
    ), 0) AS load
    FROM unnest(CAST(:ids AS bigint[])) AS m(id)
    """  # noqa: S608 - only our own enum values are formatted in
)


async def open_loads(session: AsyncSession, user_ids: Collection[int]) -> dict[int, int]:
    """Each person's open work, weighted by priority (up to LOAD_CAP tickets each)."""
    if not user_ids:
        return {}
    rows = await session.execute(_LOADS, {"ids": list(user_ids), "cap": LOAD_CAP})
    return {int(user_id): int(load) for user_id, load in rows}


class Router:
    """Routing decisions within one transaction.

    Who is available is read once per team and category: a handover batch routes many
    tickets, and availability does not change in the middle of a transaction. So are
    loads, once per person: what this router hands out is added as it goes, so a batch
    spreads by load without summing everyone's open work again for each ticket.
    """

    def __init__(self, session: AsyncSession, now: datetime) -> None:
        self.session = session
        self.now = now
        self._members: dict[tuple[int, str | None, bool], list[User]] = {}
        self._loads: dict[int, int] = {}
        # Held here: the session's identity map keeps objects only while someone does.
        self._teams: dict[int, Team | None] = {}

    async def loads(self, user_ids: Collection[int]) -> dict[int, int]:
        missing = [i for i in user_ids if i not in self._loads]
        if missing:
            self._loads.update(await open_loads(self.session, missing))
        return {i: self._loads[i] for i in user_ids}

    async def team(self, team_id: int) -> Team | None:
        if team_id not in self._teams:
            self._teams[team_id] = await self.session.get(Team, team_id)
        return self._teams[team_id]

    def knows(self, team: Team) -> None:
        """A team the caller has loaded already (a new ticket's, checked on arrival)."""
        self._teams[team.id] = team

    async def members(
        self, team_id: int, category: str | None, *, supervisors_only: bool = False
    ) -> list[User]:
        key = (team_id, category, supervisors_only)
        if key not in self._members:
            query = _members_query(category is not None, supervisors_only)
            params = {"team_id": team_id, "now": self.now, "category": category}
            self._members[key] = list(await self.session.scalars(query, params))
        return self._members[key]

    async def pick(
        self, ticket: Ticket, team_id: int, *, exclude: Collection[int] = ()
    ) -> User | None:
        """The member of `team_id` who gets `ticket` by the team's mode, or None (queue)."""
        team = await self.team(team_id)
        if team is None or team.assignment is AssignmentMode.MANUAL:
            return None
        members = [m for m in await self.members(team_id, ticket.category) if m.id not in exclude]
        if not members:
            return None
        loads = None
        if team.assignment is AssignmentMode.LEAST_LOADED:
            loads = await self.loads([m.id for m in members])
        chosen = await self._take_turn(team_id, members, loads)
        if chosen.id in self._loads:
            self._loads[chosen.id] += PRIORITY_WEIGHT.get(ticket.priority, 1)
        return chosen

    async def least_loaded(self, members: Sequence[User]) -> User | None:
        if not members:
            return None
        loads = await open_loads(self.session, [m.id for m in members])
        return min(members, key=lambda m: (loads.get(m.id, 0), m.id))

    async def _take_turn(
        self, team_id: int, members: list[User], loads: dict[int, int] | None
    ) -> User:
        """Round robin: whoever was routed to least recently. Least loaded: the lightest
        load, then the same.

        One statement picks and stamps the member. It locks only that member's row, and
        concurrent routings skip it (SKIP LOCKED) and take the next in turn, so nobody
        ever waits on it: simultaneous tickets spread instead of queueing."""
        by_id = {m.id: m for m in members}
        ids = list(by_id)
        weights = [0 if loads is None else loads.get(i, 0) for i in ids]
        chosen = await self.session.scalar(
            _TAKE_TURN, {"team": team_id, "ids": ids, "loads": weights, "now": datetime.now(UTC)}
        )
        if chosen is None:
            # Everyone is being routed to right now: the one whose turn it was anyway.
            chosen = await self.session.scalar(
                _NEXT_TURN, {"team": team_id, "ids": ids, "loads": weights}
            )
        return by_id.get(int(chosen), members[0]) if chosen is not None else members[0]


_CANDIDATES = """
    SELECT tm.user_id FROM team_members tm
    JOIN unnest(CAST(:ids AS bigint[]), CAST(:loads AS bigint[])) AS m(id, load)
      ON m.id = tm.user_id
    WHERE tm.team_id = :team
    ORDER BY m.load, tm.last_routed_at NULLS FIRST, tm.user_id
    LIMIT 1
"""
_TAKE_TURN = text(
    f"""
    UPDATE team_members SET last_routed_at = :now
    WHERE team_id = :team AND user_id = ({_CANDIDATES} FOR UPDATE OF tm SKIP LOCKED)
    RETURNING user_id
    """  # noqa: S608 - a constant of this module
)
_NEXT_TURN = text(_CANDIDATES)
