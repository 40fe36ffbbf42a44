"""Ticket reads: the list with its filters and keyset pages, and the response shape.

A page is read in two steps: first the keys of the page (id, updated_at) from `tickets`
alone, then the details of those tickets by primary key (requester, owner, team and the
newest event the viewer may see). Both statements are small to plan and keep one
generic plan each; the seven-relation join with the filters in it did not (it was
planned again on every request and cost more than running it).

Reads use Core rows, not ORM entities: a page would otherwise hydrate seven objects per
ticket into the identity map only to copy them into the response.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Row,
    Select,
    bindparam,
    false,
    func,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased

from app.common.pagination import decode_cursor, encode_cursor
from app.errors import BadRequest
from app.events.audience import audience_of, customer_sees, customer_sees_only_public
from app.events.position import SNAPSHOT_XMIN, position_at
from app.events.visibility import sees_internal, ticket_clause
from app.models import Role, SlaPolicy, Team, Ticket, TicketEvent, User
from app.tickets import sla_order
from app.tickets.presenting import TICKET_COLUMNS, present
from app.tickets.schemas import TicketFilters, TicketOut

_Requester = aliased(User, name="requester")
_Owner = aliased(User, name="owner")
_LastEvent = aliased(TicketEvent, name="last_event")
_Actor = aliased(User, name="last_actor")
_OwnerEvent = aliased(TicketEvent, name="owner_event")

_CURSOR_KEYS = frozenset({"u", "i"})

# Search (see _search_keys): how many tickets the walk in activity order looks at before
# it gives the full-text index a try, and how many index matches are few enough to sort.
# Measured at 1M tickets (bench/README.md): a walk of 3,000 costs ~3-8 ms, sorting
# 5,000 index matches ~10-50 ms (their rows are scattered over the table).
SEARCH_WALK_ROWS = 3000
SEARCH_SORT_CAP = 5000

_DETAIL_COLUMNS = (
    *TICKET_COLUMNS,
    _Requester.id.label("requester_id"),
    _Requester.name.label("requester_name"),
    _Requester.email.label("requester_email"),
    _Owner.id.label("owner_id"),
    _Owner.name.label("owner_name"),
    Team.id.label("team_id"),
    Team.name.label("team_name"),
    SlaPolicy.name.label("sla_policy_name"),
    _LastEvent.kind.label("event_kind"),
    _LastEvent.data.label("event_data"),
    _LastEvent.created_at.label("event_at"),
    _Actor.name.label("actor_name"),
    _OwnerEvent.kind.label("owner_event_kind"),
    _OwnerEvent.data.label("owner_event_data"),
    _OwnerEvent.created_at.label("owner_event_at"),
)


def _literal_limit(limit: int) -> ColumnElement[int]:
    # Rendered into the SQL text, not sent as a parameter: with `LIMIT $n` PostgreSQL's
    # generic plan looks far costlier than a custom one, so it re-planned every request.
    return bindparam(None, limit, type_=Integer, literal_execute=True)


def _details(viewer: User) -> tuple[Select[Any], Select[Any]]:
    """The details statement for this kind of viewer, built once and reused: building
    and hashing (the cache key of) a 32-column, 7-relation select cost ~0.8 ms of
    Python per request, more than the rest of a GET's SQL work together."""
    staff = sees_internal(viewer)
    key = (viewer.role, staff)
    statements = _DETAILS.get(key)
    if statements is None:
        # The viewer's id enters as a parameter (`viewer_id`), so one statement serves
        # every viewer of this role; the rule itself stays ticket_clause's.
        template = User(role=viewer.role)
        template.id = cast(int, bindparam("viewer_id", type_=BigInteger))
        query = _build_details(template)
        statements = (
            query.add_columns(SNAPSHOT_XMIN).where(Ticket.id == bindparam("ticket_id")),
            query.where(Ticket.id == func.any(bindparam("ids", type_=ARRAY(BigInteger)))),
        )
        _DETAILS[key] = statements
    return statements


_DETAILS: dict[tuple[Role, bool], tuple[Select[Any], Select[Any]]] = {}


def _build_details(viewer: User) -> Select[Any]:
    last_event_id = Ticket.last_event_id if sees_internal(viewer) else Ticket.last_public_event_id
    return (
        select(*_DETAIL_COLUMNS)
        .select_from(Ticket)
        .join(_Requester, _Requester.id == Ticket.requester_id)
        .outerjoin(_Owner, _Owner.id == Ticket.owner_id)
        .outerjoin(Team, Team.id == Ticket.team_id)
        .outerjoin(SlaPolicy, SlaPolicy.id == Ticket.sla_policy_id)
        .outerjoin(_LastEvent, _LastEvent.id == last_event_id)
        .outerjoin(_Actor, _Actor.id == _LastEvent.actor_id)
        .outerjoin(_OwnerEvent, _OwnerEvent.id == Ticket.last_owner_event_id)
        .where(ticket_clause(viewer))
    )


def _single_statement(session: AsyncSession) -> dict[str, Any]:
    """A read that is one statement needs no transaction of its own: when the request
    holds no connection yet, it runs in autocommit and saves the BEGIN and COMMIT round
    trips (two of a GET's three). After a write (the read-back, or the token's
    last-used time) it must run in that transaction and see its changes."""
    transaction = session.sync_session.get_transaction()
    if transaction is not None and transaction.connections:
        return {}
    return {"isolation_level": "AUTOCOMMIT"}


async def read_ticket(session: AsyncSession, viewer: User, ticket_id: int) -> TicketOut | None:
    ticket, _position = await read_ticket_at(session, viewer, ticket_id)
    return ticket


async def read_ticket_at(
    session: AsyncSession, viewer: User, ticket_id: int
) -> tuple[TicketOut | None, str | None]:
    """The ticket and the X-Events-Cursor of the same statement (None when not found)."""
    connection = await session.connection(execution_options=_single_statement(session))
    query = _details(viewer)[0]
    row = (
        await connection.execute(query, {"ticket_id": ticket_id, "viewer_id": viewer.id})
    ).first()
    if row is None:
        return None, None
    ticket = present(row._mapping, datetime.now(UTC), audience_of(viewer))
    return ticket, position_at(row._mapping["snapshot_xmin"])


def _match(viewer: User, text: str, config: str, vectors: Any = Ticket) -> ColumnElement[bool]:
    """The words, or the ticket's external reference exactly. Customers match only the
    public vector: never words from an internal note."""
    query = func.websearch_to_tsquery(config, text)
    public: ColumnElement[bool] = vectors.search_public.bool_op("@@")(query)
    by_reference = vectors.external_ref == text.strip()
    if sees_internal(viewer):
        return or_(public, vectors.search_internal.bool_op("@@")(query), by_reference)
    return or_(public, by_reference)


def _conditions(
    viewer: User, filters: TicketFilters, position: tuple[datetime, int] | None
) -> list[ColumnElement[bool]]:
    """Every filter except the full-text match, visibility and the keyset position."""
    where: list[ColumnElement[bool]] = [ticket_clause(viewer)]
    if not sees_internal(viewer):
        # A field the viewer sees as null matches no value: filtering by it must not tell
        # its value ticket by ticket.
        hidden = (("priority", filters.priority), ("tags", filters.tag))
        if any(used and not customer_sees(name) for name, used in hidden):
            where.append(false())
    if filters.status:
        where.append(Ticket.status.in_(filters.status))
    if filters.priority:
        where.append(Ticket.priority.in_(filters.priority))
    if filters.owner_id is not None:
        where.append(Ticket.owner_id == filters.owner_id)
    if filters.unowned:
        where.append(Ticket.owner_id.is_(None))
    if filters.team_id is not None:
        where.append(Ticket.team_id == filters.team_id)
    if filters.requester_id is not None:
        where.append(Ticket.requester_id == filters.requester_id)
    if filters.category is not None:
        where.append(Ticket.category == filters.category)
    if filters.tag is not None:
        where.append(Ticket.tags.contains([filters.tag]))
    if filters.channel is not None:
        where.append(Ticket.channel == filters.channel)
    activity = activity_of(viewer)
    if filters.updated_since is not None:
        where.append(activity >= filters.updated_since)
    if position is not None:
        where.append(tuple_(activity, Ticket.id) < tuple_(*position))
    return where


def activity_of(viewer: User) -> InstrumentedAttribute[datetime]:
    """The time a viewer's lists are ordered and filtered by: the one they are shown as
    `updated_at`. A customer's moves only with what they see (app/events/audience.py),
    so an internal note does not bring their ticket to the top of their list."""
    if sees_internal(viewer) or not customer_sees_only_public():
        return Ticket.updated_at
    return Ticket.customer_updated_at


def _newest_first(activity: InstrumentedAttribute[datetime]) -> tuple[Any, Any]:
    return activity.desc(), Ticket.id.desc()


_Key = tuple[int, datetime]
# The snapshot of the first statement a list runs, as a column of that statement: the
# rows it returns (and any later statement's) reflect every transaction below it.
_KeysWithXmin = tuple[list[_Key], int]


async def _keys(connection: AsyncConnection, query: Select[Any, Any]) -> _KeysWithXmin:
    # Joined to a one-row snapshot so that an empty page still brings its xmin: one
    # taken by a later statement could skip what committed in between.
    page = query.subquery("page")
    snapshot = select(SNAPSHOT_XMIN).subquery("snapshot")
    rows = (
        await connection.execute(
            select(snapshot.c.snapshot_xmin, page.c.id, page.c.updated_at)
            .select_from(snapshot.outerjoin(page, true()))
            .order_by(page.c.updated_at.desc(), page.c.id.desc())
        )
    ).all()
    keys = [(row[1], row[2]) for row in rows if row[1] is not None]
    return keys, rows[0][0]


async def _sla_keys(
    connection: AsyncConnection, where: list[ColumnElement[bool]], limit: int
) -> tuple[list[tuple[int, datetime | None]], int]:
    """A page in queue order (app/tickets/sla_order.py), with the snapshot's xmin."""
    page = (
        select(Ticket.id, Ticket.sla_due_at)
        .where(*where)
        .order_by(*sla_order.ORDER)
        .limit(_literal_limit(limit))
        .subquery("page")
    )
    snapshot = select(SNAPSHOT_XMIN).subquery("snapshot")
    rows = (
        await connection.execute(
            select(snapshot.c.snapshot_xmin, page.c.id, page.c.sla_due_at)
            .select_from(snapshot.outerjoin(page, true()))
            .order_by(page.c.sla_due_at.asc().nulls_last(), page.c.id.asc())
        )
    ).all()
    return [(row[1], row[2]) for row in rows if row[1] is not None], rows[0][0]


async def _page_keys(
    connection: AsyncConnection,
    where: list[ColumnElement[bool]],
    limit: int,
    activity: InstrumentedAttribute[datetime],
) -> _KeysWithXmin:
    query = (
        select(Ticket.id, activity.label("updated_at"))
        .where(*where)
        .order_by(*_newest_first(activity))
        .limit(_literal_limit(limit))
    )
    return await _keys(connection, query)


async def _search_keys(
    connection: AsyncConnection,
    where: list[ColumnElement[bool]],
    viewer: User,
    text: str,
    config: str,
    limit: int,
) -> _KeysWithXmin:
    activity = activity_of(viewer)
    """The page of a full-text search, in the order of a plain list.

    PostgreSQL cannot know how rare a word is (an order number, a surname, a typo), and
    walking the activity index newest first until `limit` tickets match reads the whole
    table for a word in none. So: walk, but only the newest SEARCH_WALK_ROWS tickets; a
    common word fills the page there. Otherwise the word is rare: take its matches from
    the GIN index and, if they are few, order them here. Only a word rare among recent
    tickets but frequent among old ones falls through to the unbounded walk.
    """
    walked = (
        select(
            Ticket.id,
            activity.label("updated_at"),
            Ticket.search_public,
            Ticket.search_internal,
            Ticket.external_ref,
        )
        .where(*where)
        .order_by(*_newest_first(activity))
        .limit(_literal_limit(SEARCH_WALK_ROWS))
        .subquery("recent")
    )
    bounded = (
        select(walked.c.id, walked.c.updated_at)
        .where(_match(viewer, text, config, walked.c))
        .order_by(walked.c.updated_at.desc(), walked.c.id.desc())
        .limit(_literal_limit(limit))
    )
    keys, xmin = await _keys(connection, bounded)
    if len(keys) == limit:
        return keys, xmin

    # The word is rare among recent tickets: take its matches from the GIN index. The
    # outer LIMIT stops reading once they prove too many to sort. Whenever the planner
    # thinks the word common it prefers a sequential scan, which then reads the table
    # until it has found SEARCH_SORT_CAP (tens of ms); so that is off for the rest of
    # this read-only transaction (what follows reads by primary key or walks an index).
    await connection.execute(select(func.set_config("enable_seqscan", "off", True)))
    match = _match(viewer, text, config)
    matches = (
        select(Ticket.id, activity.label("updated_at")).where(*where, match).cte("matches")
    ).prefix_with("MATERIALIZED")
    capped = select(matches.c.id, matches.c.updated_at).limit(_literal_limit(SEARCH_SORT_CAP + 1))
    found = [(row[0], row[1]) for row in (await connection.execute(capped)).all()]
    if len(found) <= SEARCH_SORT_CAP:
        found.sort(key=lambda key: (key[1], key[0]), reverse=True)
        return found[:limit], xmin

    query = (
        select(Ticket.id, activity.label("updated_at"))
        .where(*where, match)
        .order_by(*_newest_first(activity))
        .limit(_literal_limit(limit))
    )
    rows = (await connection.execute(query)).all()
    return [(row[0], row[1]) for row in rows], xmin


def _position(cursor: str) -> tuple[datetime, int]:
    position = decode_cursor(cursor, _CURSOR_KEYS)
    try:
        return datetime.fromisoformat(str(position["u"])), int(position["i"])
    except (TypeError, ValueError):
        raise BadRequest("The cursor is not valid; start again without one.") from None


async def list_tickets(
    session: AsyncSession,
    viewer: User,
    filters: TicketFilters,
    *,
    limit: int,
    cursor: str | None,
    search_config: str,
    sort: str = "activity",
) -> tuple[list[TicketOut], str | None, str]:
    """A page of tickets, newest activity first (or in queue order, `sla_due`), and the
    X-Events-Cursor taken with it.

    Inserts never shift a page already read: pages are keyset ranges of
    (updated_at, id), the same whichever way a search finds its matches.
    """
    connection = await session.connection()
    if sort == "sla_due":
        return await _list_by_sla(connection, viewer, filters, limit, cursor, search_config)
    position = None if cursor is None else _position(cursor)
    where = _conditions(viewer, filters, position)
    if filters.q:
        keys, xmin = await _search_keys(connection, where, viewer, filters.q, search_config, limit)
    else:
        keys, xmin = await _page_keys(connection, where, limit, activity_of(viewer))
    events_position = position_at(xmin)
    items = await _present_keys(connection, viewer, [key[0] for key in keys])
    next_cursor = None
    if len(keys) == limit:
        last_id, last_updated_at = keys[-1]
        next_cursor = encode_cursor({"u": last_updated_at.isoformat(), "i": last_id})
    return items, next_cursor, events_position


async def _list_by_sla(
    connection: AsyncConnection,
    viewer: User,
    filters: TicketFilters,
    limit: int,
    cursor: str | None,
    search_config: str,
) -> tuple[list[TicketOut], str | None, str]:
    where = _conditions(viewer, filters, None)
    if cursor is not None:
        where.append(sla_order.after(sla_order.position(cursor)))
    if filters.q:
        where.append(_match(viewer, filters.q, search_config))
    keys, xmin = await _sla_keys(connection, where, limit)
    items = await _present_keys(connection, viewer, [key[0] for key in keys])
    next_cursor = sla_order.next_cursor(keys[-1]) if len(keys) == limit else None
    return items, next_cursor, position_at(xmin)


async def _present_keys(
    connection: AsyncConnection, viewer: User, ids: list[int]
) -> list[TicketOut]:
    if not ids:
        return []
    query = _details(viewer)[1]
    rows: Sequence[Row[Any]] = (
        await connection.execute(query, {"ids": ids, "viewer_id": viewer.id})
    ).all()
    now = datetime.now(UTC)
    by_id = {row._mapping["id"]: row for row in rows}
    audience = audience_of(viewer)
    # A ticket of the page could only be missing if it was deleted in between.
    return [present(by_id[i]._mapping, now, audience) for i in ids if i in by_id]
