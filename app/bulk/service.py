"""Bulk changes: each ticket in a savepoint of its own, through the same use case a
single change uses (its rules, its optimistic check, its event, its reactions), so one
ticket that fails rolls back alone and the rest still commit with the request."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.bulk.schemas import BulkChange, BulkProblem, BulkResult, BulkTags
from app.errors import PROBLEM_TYPE_PREFIX, Conflict, ProblemError, UnprocessableEntity
from app.events.visibility import get_visible_ticket
from app.models import TicketStatus, User
from app.tickets import repository, service
from app.tickets.concurrency import check_if_match, etag
from app.tickets.schemas import StatusChange

MAX_TAGS = 20


async def apply(session: AsyncSession, actor: User, change: BulkChange) -> list[BulkResult]:
    results = []
    for ticket_id in change.ids:
        version = change.versions.get(ticket_id)
        if_match = None if version is None else etag(version)
        try:
            async with session.begin_nested():
                await _change_one(session, actor, ticket_id, change, if_match)
        except ProblemError as error:
            results.append(BulkResult(id=ticket_id, status=error.status, problem=_problem(error)))
            continue
        ticket = await repository.read_ticket(session, actor, ticket_id)
        results.append(BulkResult(id=ticket_id, status=200, ticket=ticket))
    return results


async def _change_one(
    session: AsyncSession, actor: User, ticket_id: int, change: BulkChange, if_match: str | None
) -> None:
    if change.status is not None:
        data = StatusChange(status=change.status.status, note=change.status.note)
        await service.change_status(session, actor, ticket_id, data, if_match=if_match)
    elif change.assign is not None:
        await service.assign(session, actor, ticket_id, change.assign, if_match=if_match)
    elif change.tags is not None:
        await _retag(session, actor, ticket_id, change.tags, if_match)


async def _retag(
    session: AsyncSession, actor: User, ticket_id: int, tags: BulkTags, if_match: str | None
) -> None:
    ticket = await get_visible_ticket(session, actor, ticket_id, for_update=True)
    check_if_match(if_match, ticket, actor)
    if ticket.status is TicketStatus.CLOSED:
        raise Conflict(f"Ticket {ticket.id} is closed, and closed is final.")
    removed = set(tags.remove)
    new = [tag for tag in dict.fromkeys([*ticket.tags, *tags.add]) if tag not in removed]
    if len(new) > MAX_TAGS:
        raise UnprocessableEntity(
            f"Ticket {ticket.id} would have {len(new)} tags; at most {MAX_TAGS}.",
            loc=("body", "tags", "add"),
        )
    if new != ticket.tags:
        await service.apply_changes(session, actor, ticket, {"tags": new})


def _problem(error: ProblemError) -> BulkProblem:
    return BulkProblem(
        type=PROBLEM_TYPE_PREFIX + error.type_slug,
        title=error.title,
        status=error.status,
        detail=error.detail,
        extra=error.extra or None,
    )
