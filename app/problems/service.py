"""Linking incidents to a problem ticket, reading a ticket's links, and a public update
on a problem for every requester of its incidents.

A link is written both ways (app/models/link.py) and recorded on both timelines as
`ticket.linked` / `ticket.unlinked` (internal: how staff organise the work is theirs;
what a customer hears is the update they are sent and their own ticket's resolution).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import and_, delete, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.common.pagination import decode_cursor, encode_cursor
from app.conversations.schemas import MessageCreate
from app.conversations.service import post_message
from app.errors import BadRequest, Conflict, UnprocessableEntity
from app.events.kinds import EventKind
from app.events.recorder import record_events
from app.events.records import NewEvent
from app.events.visibility import get_visible_ticket, lock_visible_tickets, ticket_clause
from app.models import (
    LinkRelation,
    Ticket,
    TicketLink,
    TicketStatus,
    User,
    Visibility,
)
from app.problems.schemas import (
    LinkedPage,
    LinkedTicket,
    LinkedTicketRef,
    PostedUpdate,
)
from app.tickets.concurrency import check_if_match
from app.tickets.service import touch

_CURSOR_KEYS = frozenset({"r", "i"})
_RELATION_ORDER = list(LinkRelation)


async def _has_incidents(session: AsyncSession, ticket_id: int) -> bool:
    found = await session.scalar(
        select(TicketLink.linked_id)
        .where(TicketLink.ticket_id == ticket_id, TicketLink.relation == LinkRelation.INCIDENT)
        .limit(1)
    )
    return found is not None


async def link_to_problem(
    session: AsyncSession, actor: User, ticket_id: int, problem_id: int, *, if_match: str | None
) -> Ticket:
    """Tie the incident `ticket_id` to `problem_id`. Linking it again is a no-op."""
    if problem_id == ticket_id:
        raise UnprocessableEntity("A ticket cannot be its own problem.", loc=("body", "problem_id"))
    locked = await lock_visible_tickets(session, actor, [ticket_id, problem_id])
    incident, problem = locked[ticket_id], locked[problem_id]
    check_if_match(if_match, incident, actor)
    if incident.problem_id == problem.id:
        return incident
    for ticket in (incident, problem):
        if ticket.merged_into_id is not None:
            raise Conflict(
                f"Ticket {ticket.id} was merged into {ticket.merged_into_id}; link that one.",
                extra={"merged_into": ticket.merged_into_id},
            )
    if incident.problem_id is not None:
        raise Conflict(
            f"Ticket {incident.id} is already linked to problem {incident.problem_id}; "
            "unlink it first.",
            extra={"problem_id": incident.problem_id},
        )
    if problem.problem_id is not None:
        raise Conflict(
            f"Ticket {problem.id} is itself an incident of problem {problem.problem_id}; "
            f"link to {problem.problem_id} instead.",
            extra={"problem_id": problem.problem_id},
        )
    if problem.status is TicketStatus.CLOSED:
        raise Conflict(f"Problem {problem.id} is closed; link to an open problem.")
    if await _has_incidents(session, incident.id):
        raise Conflict(f"Ticket {incident.id} is a problem with incidents of its own.")

    now = datetime.now(UTC)
    incident.problem_id = problem.id
    touch(incident, now)
    touch(problem, now)
    session.add_all(
        [
            TicketLink(
                ticket_id=incident.id,
                relation=LinkRelation.PROBLEM,
                linked_id=problem.id,
                actor_id=actor.id,
            ),
            TicketLink(
                ticket_id=problem.id,
                relation=LinkRelation.INCIDENT,
                linked_id=incident.id,
                actor_id=actor.id,
            ),
        ]
    )
    await session.flush()
    await _record(session, actor, EventKind.TICKET_LINKED, incident, problem)
    return incident


async def unlink_from_problem(
    session: AsyncSession, actor: User, ticket_id: int, *, if_match: str | None
) -> Ticket:
    """Untie the incident from its problem; a ticket linked to none is left as it is."""
    incident = await get_visible_ticket(session, actor, ticket_id)
    problem_id = incident.problem_id
    if problem_id is None:
        check_if_match(if_match, incident, actor)
        return incident
    locked = await lock_visible_tickets(session, actor, sorted({incident.id, problem_id}))
    incident, problem = locked[ticket_id], locked[problem_id]
    if incident.problem_id != problem_id:
        raise Conflict(f"Ticket {ticket_id} changed while it was being unlinked; try again.")
    check_if_match(if_match, incident, actor)
    now = datetime.now(UTC)
    incident.problem_id = None
    touch(incident, now)
    touch(problem, now)
    await session.execute(
        delete(TicketLink).where(
            or_(
                and_(
                    TicketLink.ticket_id == incident.id,
                    TicketLink.relation == LinkRelation.PROBLEM,
                    TicketLink.linked_id == problem.id,
                ),
                and_(
                    TicketLink.ticket_id == problem.id,
                    TicketLink.relation == LinkRelation.INCIDENT,
                    TicketLink.linked_id == incident.id,
                ),
            )
        )
    )
    await _record(session, actor, EventKind.TICKET_UNLINKED, incident, problem)
    return incident


async def _record(
    session: AsyncSession, actor: User, kind: EventKind, incident: Ticket, problem: Ticket
) -> None:
    await record_events(
        session,
        [
            NewEvent.of(
                incident,
                kind,
                actor=actor,
                visibility=Visibility.INTERNAL,
                data={"problem_id": problem.id},
            ),
            NewEvent.of(
                problem,
                kind,
                actor=actor,
                visibility=Visibility.INTERNAL,
                data={"incident_id": incident.id},
            ),
        ],
    )


async def linked(
    session: AsyncSession,
    viewer: User,
    ticket_id: int,
    *,
    relation: LinkRelation | None,
    limit: int,
    cursor: str | None,
) -> LinkedPage:
    """The ticket's links the viewer may see (a customer: only to tickets of theirs), in
    relation then id order, with their counts."""
    await get_visible_ticket(session, viewer, ticket_id)
    visible = (
        select(TicketLink, Ticket.subject, Ticket.status)
        .join(Ticket, Ticket.id == TicketLink.linked_id)
        .where(TicketLink.ticket_id == ticket_id, ticket_clause(viewer))
    )
    counts_query = (
        select(TicketLink.relation, func.count())
        .join(Ticket, Ticket.id == TicketLink.linked_id)
        .where(TicketLink.ticket_id == ticket_id, ticket_clause(viewer))
        .group_by(TicketLink.relation)
    )
    counts = {LinkRelation(r): int(n) for r, n in (await session.execute(counts_query)).all()}
    page = visible
    if relation is not None:
        page = page.where(TicketLink.relation == relation)
    if cursor is not None:
        after_relation, after_id = _position(cursor)
        page = page.where(
            tuple_(TicketLink.relation, TicketLink.linked_id) > (after_relation, after_id)
        )
    rows = (
        await session.execute(page.order_by(TicketLink.relation, TicketLink.linked_id).limit(limit))
    ).all()
    items = [
        LinkedTicket(
            relation=link.relation,
            ticket=LinkedTicketRef(id=link.linked_id, subject=subject, status=status),
            linked_at=link.created_at,
        )
        for link, subject, status in rows
    ]
    next_cursor = None
    if len(items) == limit:
        last = items[-1]
        next_cursor = encode_cursor({"r": last.relation.value, "i": last.ticket.id})
    return LinkedPage(
        items=items,
        next_cursor=next_cursor,
        counts={r: counts.get(r, 0) for r in _RELATION_ORDER},
    )


def _position(cursor: str) -> tuple[LinkRelation, int]:
    position = decode_cursor(cursor, _CURSOR_KEYS)
    try:
        linked_id = position["i"]
        if not isinstance(linked_id, int) or isinstance(linked_id, bool):
            raise ValueError
        return LinkRelation(position["r"]), linked_id
    except ValueError:
        raise BadRequest("The cursor is not valid; start again without one.") from None


async def post_update(
    session: AsyncSession, actor: User, problem_id: int, body: str, *, search_config: str
) -> tuple[int, list[PostedUpdate]]:
    """Post `body` publicly on the problem, and on one ticket of every other requester of
    its incidents that is still open: each customer hears it once, on a ticket of their
    own (the one they were active on most recently)."""
    problem = await get_visible_ticket(session, actor, problem_id)
    if not await _has_incidents(session, problem.id):
        raise Conflict(f"Ticket {problem.id} has no linked incidents to update.")
    message = MessageCreate(body=body, visibility=Visibility.PUBLIC)
    on_problem, _, _ = await post_message(
        session, actor, problem.id, message, search_config=search_config
    )
    incidents = await session.execute(
        select(Ticket.id, Ticket.requester_id)
        .join(TicketLink, TicketLink.linked_id == Ticket.id)
        .where(
            TicketLink.ticket_id == problem.id,
            TicketLink.relation == LinkRelation.INCIDENT,
            Ticket.status != TicketStatus.CLOSED,
            Ticket.requester_id != problem.requester_id,
        )
        .order_by(Ticket.updated_at.desc(), Ticket.id.desc())
    )
    chosen: dict[int, int] = {}
    for incident_id, requester_id in incidents.all():
        chosen.setdefault(requester_id, incident_id)
    posted = []
    for requester_id, incident_id in sorted(chosen.items(), key=lambda item: item[1]):
        copy, _, _ = await post_message(
            session, actor, incident_id, message, search_config=search_config
        )
        posted.append(
            PostedUpdate(ticket_id=incident_id, message_id=copy.id, requester_id=requester_id)
        )
    return on_problem.id, posted
