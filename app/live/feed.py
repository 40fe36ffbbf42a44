"""Reading events for the live channel, in snapshot order so nothing is skipped.

The hub reads in batches. Each batch runs in a REPEATABLE READ transaction and asks
for events whose transaction was still running at the previous snapshot (its xip
list) or started after it (txid >= its xmax). Every transaction becomes visible in
exactly one such step, so each committed event is read once per process, however
late it committed and whether or not its NOTIFY arrived.

Imported history (events whose data has `imported`, app/imports/) is never relayed,
live or on replay: it is months of old events, not news, and thousands of them would
flood every `queue:all` subscriber. Leaving them out of the queries loses nothing else:
positions are snapshots, not event ids, so a resume across an import still gets every
other event of that time.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from app.events.audience import event_is_public, public_data
from app.events.summaries import summarize
from app.live.topics import EventRouting

_COLUMNS = """
    e.id, e.ticket_id, e.kind, e.visibility, e.actor_id, e.data::text AS data,
    e.ticket_version, e.created_at, e.txid,
    t.requester_id, t.owner_id, t.team_id, t.created_by_id,
    a.name AS actor_name, a.role AS actor_role,
    t.status AS ticket_status, o.name AS owner_name,
    oe.data::text AS owner_event_data, oe.created_at AS owner_event_at,
    le.kind AS last_kind, le.data::text AS last_data, le.created_at AS last_at,
    la.name AS last_actor_name,
    pe.kind AS public_kind, pe.data::text AS public_data, pe.created_at AS public_at,
    pa.name AS public_actor_name
"""
# Imported history is not news (see the module doc); its trigger does not announce it.
_NOT_IMPORTED = "e.data -> 'imported' IS NULL"
# The ticket as it stands, for the portal view that goes with every event frame: the
# contact, the status, the last action and the reason of the last owner change.
_FROM = """
    FROM ticket_events e
    JOIN tickets t ON t.id = e.ticket_id
    LEFT JOIN users a ON a.id = e.actor_id
    LEFT JOIN users o ON o.id = t.owner_id
    LEFT JOIN ticket_events oe ON oe.id = t.last_owner_event_id
    LEFT JOIN ticket_events le ON le.id = t.last_event_id
    LEFT JOIN users la ON la.id = le.actor_id
    LEFT JOIN ticket_events pe ON pe.id = t.last_public_event_id
    LEFT JOIN users pa ON pa.id = pe.actor_id
"""


@dataclass(frozen=True, slots=True)
class Snapshot:
    xmin: int
    xmax: int
    xip: tuple[int, ...]

    @classmethod
    def parse(cls, text: str) -> Snapshot:
        xmin, xmax, xip = text.split(":")
        return cls(int(xmin), int(xmax), tuple(int(x) for x in xip.split(",") if x))


@dataclass(frozen=True, slots=True)
class LiveEvent:
    """An event with what is needed to route it and to render it for each audience."""

    id: int
    ticket_id: int
    public: bool
    routing: EventRouting
    staff_json: str
    requester_json: str
    # The portal view of the ticket (what a requester sees; staff see the latest action
    # even when it is internal).
    staff_ticket_json: str = "null"
    requester_ticket_json: str = "null"


async def current_snapshot(connection: asyncpg.Connection) -> Snapshot:
    return Snapshot.parse(await connection.fetchval("SELECT pg_current_snapshot()::text"))


async def read_batch(
    connection: asyncpg.Connection, previous: Snapshot
) -> tuple[Snapshot, list[LiveEvent]]:
    """Events that became visible since `previous`, and the snapshot they were read at."""
    async with connection.transaction(isolation="repeatable_read", readonly=True):
        snapshot = await current_snapshot(connection)
        rows = await connection.fetch(
            f"SELECT {_COLUMNS} {_FROM} "
            f"WHERE (e.txid = ANY($1::bigint[]) OR e.txid >= $2) AND {_NOT_IMPORTED} "
            "ORDER BY e.id",
            list(previous.xip),
            previous.xmax,
        )
    return snapshot, [to_live_event(row) for row in rows]


def to_live_event(row: asyncpg.Record | dict[str, Any]) -> LiveEvent:
    data = json.loads(row["data"])
    owner_ids = {row["owner_id"]} if row["owner_id"] is not None else set()
    if row["kind"] == "ticket.owner_changed":
        for side in ("from", "to"):
            person = data.get(side)
            if isinstance(person, dict) and isinstance(person.get("id"), int):
                owner_ids.add(person["id"])
    actor = (
        None
        if row["actor_id"] is None
        else {"id": row["actor_id"], "name": row["actor_name"], "role": row["actor_role"]}
    )
    created_at: datetime = row["created_at"]
    event = {
        "id": row["id"],
        "ticket_id": row["ticket_id"],
        "kind": row["kind"],
        "visibility": row["visibility"],
        "actor": actor,
        "data": data,
        "ticket_version": row["ticket_version"],
        "created_at": created_at.isoformat(),
    }
    # The one public projection (app/events/audience.py); a staff-only kind never reaches
    # a requester's frame (the feed sends them public events only).
    # The staff version would tell how much happened in between: not theirs to know.
    requester_event = {
        **event,
        "data": public_data(row["kind"], data) or {},
        "ticket_version": None,
    }
    return LiveEvent(
        id=row["id"],
        ticket_id=row["ticket_id"],
        public=event_is_public(row["kind"], row["visibility"]),
        routing=EventRouting(
            ticket_id=row["ticket_id"],
            team_id=row["team_id"],
            owner_ids=frozenset(owner_ids),
            requester_id=row["requester_id"],
            created_by_id=row["created_by_id"],
        ),
        staff_json=json.dumps(event, separators=(",", ":")),
        requester_json=json.dumps(requester_event, separators=(",", ":")),
        staff_ticket_json=_ticket_view(row, "last", staff=True),
        requester_ticket_json=_ticket_view(row, "public", staff=False),
    )


def _ticket_view(row: asyncpg.Record | dict[str, Any], last: str, *, staff: bool) -> str:
    action = None
    if row[f"{last}_kind"] is not None:
        data = json.loads(row[f"{last}_data"])
        if not staff:
            data = public_data(row[f"{last}_kind"], data) or {}
        action = {
            "kind": row[f"{last}_kind"],
            "at": row[f"{last}_at"].isoformat(),
            "summary": summarize(row[f"{last}_kind"], data, row[f"{last}_actor_name"]),
        }
    change = None
    if row["owner_event_data"] is not None:
        data = json.loads(row["owner_event_data"])
        if not staff:
            data = public_data("ticket.owner_changed", data) or {}
        change = {
            "reason": str(data.get("reason", "manual")),
            "at": row["owner_event_at"].isoformat(),
            "summary": summarize("ticket.owner_changed", data, None),
        }
    owner = None
    if row["owner_id"] is not None:
        owner = {"id": row["owner_id"], "name": row["owner_name"]}
    view = {
        "id": row["ticket_id"],
        "status": row["ticket_status"],
        "owner": owner,
        "last_action": action,
        "last_owner_change": change,
    }
    return json.dumps(view, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class ReplayScope:
    """What a subscription covers, for the replay query."""

    viewer_id: int
    staff: bool
    ticket_ids: Sequence[int]
    team_ids: Sequence[int]
    own_queue: bool  # owner:me
    everything: bool  # queue:all
    mine: bool


async def replay(
    connection: asyncpg.Connection, scope: ReplayScope, since_xmin: int, limit: int
) -> tuple[int, list[LiveEvent]]:
    """Events at or after `since_xmin` the scope covers, and the xmin they are complete to."""
    params: list[Any] = []

    def bind(value: Any, cast: str = "") -> str:
        params.append(value)
        return f"${len(params)}{cast}"

    since = bind(since_xmin)
    me_placeholder: list[str] = []

    def me() -> str:  # bound on first use: PostgreSQL rejects parameters it never sees
        if not me_placeholder:
            me_placeholder.append(bind(scope.viewer_id, "::bigint"))
        return me_placeholder[0]

    covered = [f"e.ticket_id = ANY({bind(list(scope.ticket_ids), '::bigint[]')})"]
    if scope.staff:
        visible = "TRUE"
        if scope.everything:
            covered.append("TRUE")
        if scope.team_ids:
            covered.append(f"t.team_id = ANY({bind(list(scope.team_ids), '::bigint[]')})")
        if scope.own_queue:
            covered.append(
                f"t.owner_id = {me()} OR (e.kind = 'ticket.owner_changed' AND "
                f"({me()}::text IN (e.data->'from'->>'id', e.data->'to'->>'id')))"
            )
    else:
        visible = f"e.visibility = 'public' AND {me()} IN (t.requester_id, t.created_by_id)"
        if scope.mine:
            covered.append("TRUE")
    covers = f"(({') OR ('.join(covered)}))"
    where = f"e.txid >= {since} AND {_NOT_IMPORTED} AND ({visible}) AND {covers}"
    async with connection.transaction(isolation="repeatable_read", readonly=True):
        snapshot = await current_snapshot(connection)
        rows = await connection.fetch(
            f"SELECT {_COLUMNS} {_FROM} WHERE {where} ORDER BY e.id LIMIT {bind(limit)}",
            *params,
        )
    return snapshot.xmin, [to_live_event(row) for row in rows]
