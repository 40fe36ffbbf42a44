"""Feedback reads: the triage list with its filters, search and keyset pages, and the
response shapes (staff see everything; authors see what they said and our response)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Integer, Select, distinct, func, literal, or_, select, tuple_, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from app.common.pagination import decode_cursor, encode_cursor
from app.errors import BadRequest
from app.events.schemas import ActorOut
from app.feedback.schemas import CustomerFeedbackOut, FeedbackFilters, FeedbackOut
from app.feedback.visibility import feedback_clause, get_visible_feedback
from app.models import Feedback, FeedbackVote, User
from app.tickets.schemas import RequesterRef

_CURSOR_KEYS = frozenset({"c", "i"})

AnyFeedbackOut = FeedbackOut | CustomerFeedbackOut


def for_author(feedback: Feedback) -> CustomerFeedbackOut:
    return CustomerFeedbackOut(
        id=feedback.id,
        kind=feedback.kind,
        status=feedback.status,
        body=feedback.body,
        public_response=feedback.public_response,
        ticket_id=feedback.ticket_id,
        channel=feedback.channel,
        created_at=feedback.created_at,
        updated_at=feedback.updated_at,
    )


async def read(session: AsyncSession, viewer: User, feedback_id: int) -> AnyFeedbackOut:
    feedback = await get_visible_feedback(session, viewer, feedback_id)
    return (await present(session, viewer, [feedback]))[0]


async def present(
    session: AsyncSession, viewer: User, records: Sequence[Feedback]
) -> list[AnyFeedbackOut]:
    if not viewer.role.is_staff:
        return [for_author(feedback) for feedback in records]
    people_ids = {f.author_id for f in records} | {f.customer_id for f in records if f.customer_id}
    people = {
        user.id: user for user in await session.scalars(select(User).where(User.id.in_(people_ids)))
    }
    counts = await _counts(session, {f.primary_id or f.id for f in records})
    items: list[AnyFeedbackOut] = []
    for feedback in records:
        author = people[feedback.author_id]
        customer = people.get(feedback.customer_id) if feedback.customer_id else None
        duplicates, votes, supporters = counts.get(feedback.primary_id or feedback.id, (0, 0, 0))
        items.append(
            FeedbackOut(
                id=feedback.id,
                kind=feedback.kind,
                status=feedback.status,
                body=feedback.body,
                public_response=feedback.public_response,
                author=ActorOut(id=author.id, name=author.name, role=author.role),
                customer=None
                if customer is None
                else RequesterRef(id=customer.id, name=customer.name, email=customer.email),
                ticket_id=feedback.ticket_id,
                origin_ticket_id=feedback.origin_ticket_id,
                message_id=feedback.message_id,
                category=feedback.category,
                tags=feedback.tags,
                channel=feedback.channel,
                primary_id=feedback.primary_id,
                duplicates=duplicates if feedback.primary_id is None else 0,
                votes=votes,
                supporters=supporters,
                created_at=feedback.created_at,
                updated_at=feedback.updated_at,
            )
        )
    return items


async def _counts(session: AsyncSession, roots: set[int]) -> dict[int, tuple[int, int, int]]:
    """Per primary record: its duplicates, the votes on it and them, and the distinct
    customers behind all of it (authors and voters). A duplicate shows its primary's."""
    if not roots:
        return {}
    root = func.coalesce(Feedback.primary_id, Feedback.id)
    in_group = or_(Feedback.id.in_(roots), Feedback.primary_id.in_(roots))
    zero, one = literal(0, Integer), literal(1, Integer)
    authors = select(
        root.label("root"),
        Feedback.customer_id.label("customer_id"),
        zero.label("is_vote"),
        (Feedback.primary_id.is_not(None)).cast(Integer).label("is_duplicate"),
    ).where(in_group)
    voters = (
        select(root, FeedbackVote.customer_id, one, zero)
        .select_from(FeedbackVote)
        .join(Feedback, Feedback.id == FeedbackVote.feedback_id)
        .where(in_group)
    )
    group = union_all(authors, voters).subquery()
    rows = await session.execute(
        select(
            group.c.root,
            func.sum(group.c.is_duplicate),
            func.sum(group.c.is_vote),
            func.count(distinct(group.c.customer_id)),
        ).group_by(group.c.root)
    )
    return {
        int(root_id): (int(duplicates), int(votes), int(supporters))
        for root_id, duplicates, votes, supporters in rows
    }


def _filtered(viewer: User, filters: FeedbackFilters, search_config: str) -> Select[Feedback]:
    query = select(Feedback).where(feedback_clause(viewer))
    if filters.mine:
        query = query.where(or_(Feedback.author_id == viewer.id, Feedback.customer_id == viewer.id))
    if filters.kind:
        query = query.where(Feedback.kind.in_(filters.kind))
    if filters.status:
        query = query.where(Feedback.status.in_(filters.status))
    if filters.category is not None:
        query = query.where(Feedback.category == filters.category)
    if filters.tag is not None:
        query = query.where(Feedback.tags.contains([filters.tag]))
    if filters.channel is not None:
        query = query.where(Feedback.channel == filters.channel)
    if filters.customer_id is not None:
        query = query.where(Feedback.customer_id == filters.customer_id)
    if filters.ticket_id is not None:
        query = query.where(Feedback.ticket_id == filters.ticket_id)
    if filters.primary_id is not None:
        query = query.where(Feedback.primary_id == filters.primary_id)
    if filters.duplicate is not None:
        is_duplicate = Feedback.primary_id.is_not(None)
        query = query.where(is_duplicate if filters.duplicate else ~is_duplicate)
    if filters.created_since is not None:
        query = query.where(Feedback.created_at >= filters.created_since)
    if filters.created_before is not None:
        query = query.where(Feedback.created_at < filters.created_before)
    if filters.q:
        tsquery = func.websearch_to_tsquery(search_config, filters.q)
        query = query.where(Feedback.search.bool_op("@@")(tsquery))
    return query


async def list_feedback(
    session: AsyncSession,
    viewer: User,
    filters: FeedbackFilters,
    *,
    limit: int,
    cursor: str | None,
    search_config: str,
) -> tuple[list[AnyFeedbackOut], str | None]:
    """A page of feedback, newest first. Records filed later never shift a page read."""
    query = _filtered(viewer, filters, search_config)
    if cursor is not None:
        position = decode_cursor(cursor, _CURSOR_KEYS)
        try:
            created_at = datetime.fromisoformat(str(position["c"]))
            feedback_id = int(position["i"])
        except (TypeError, ValueError):
            raise BadRequest("The cursor is not valid; start again without one.") from None
        query = query.where(
            tuple_(Feedback.created_at, Feedback.id) < tuple_(created_at, feedback_id)
        )
    query = query.order_by(Feedback.created_at.desc(), Feedback.id.desc()).limit(limit)
    records = list(await session.scalars(query))
    next_cursor = None
    if len(records) == limit:
        last = records[-1]
        next_cursor = encode_cursor({"c": last.created_at.isoformat(), "i": last.id})
    return await present(session, viewer, records), next_cursor
