"""`python -m bench.merge`: merging two tickets with 1,000 events each (target: under
200 ms), and reading the merged timeline.

In one process, against a real PostgreSQL: the service's app over an in-process HTTP
transport (the whole request: auth, both locks and ETag checks, the links, the
followers, both `ticket.merged` events with their reactions and outbox rows, the
commit and the read-back of the primary), no network and no uvicorn in the way.

1. creates (and migrates) its own database, `helpdesk_channels_bench` next to the
   benchmark database (HELPDESK_CHANNELS_BENCH_DATABASE_URL names another), emptied;
2. files PAIRS pairs of tickets through the API, writes OLDER events on a tenth as many
   older tickets, then gives each ticket of a pair EVENTS events and a fifth as many
   messages (straight into the tables: the timeline's size is what matters to a merge,
   not how it grew; the older events put the pairs' rows at the end of the table, as a
   desk's newest tickets are);
3. merges each pair through `POST /tickets/{id}/merge` with both versions checked, and
   times each request; then reads the first page of each merged primary's timeline
   (`GET /tickets/{id}/events`, the union of both tickets) and times that.

Results go to stdout as a Markdown table (bench/CHANNELS.md records them).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import time
from typing import Any

import httpx

from app.config import Environment, Settings
from app.main import create_app
from app.migrations import upgrade_to_head
from bench import db

API = "/api/v1"
TARGET_MS = 200.0
DEFAULT_URL = db.with_database(db.bench_database_url(), "helpdesk_channels_bench").replace(
    "postgresql://", "postgresql+asyncpg://", 1
)


def _url() -> str:
    return os.environ.get("HELPDESK_CHANNELS_BENCH_DATABASE_URL") or DEFAULT_URL


async def _prepare(url: str) -> None:
    await db.ensure_database(url)
    await asyncio.to_thread(upgrade_to_head, url)
    connection = await db.connect(url)
    try:
        tables = await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> 'alembic_version'"
        )
        names = ", ".join(f'"{row["tablename"]}"' for row in tables)
        await connection.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    finally:
        await connection.close()


async def _admin_token(url: str) -> str:
    from app.auth.service import issue_bootstrap_token
    from app.db import create_engine, create_sessionmaker
    from app.models import Role, User

    settings = Settings(env=Environment.TEST, database_url=url)
    engine = create_engine(settings, url)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            user = User(email="bench-admin@example.com", name="Bench admin", role=Role.ADMIN)
            session.add(user)
            await session.flush()
            return await issue_bootstrap_token(session, user, "bench")
    finally:
        await engine.dispose()


async def _grow_timelines(
    url: str, ticket_ids: list[int], events: int, actor_id: int, older: int
) -> None:
    """First the rest of the desk, written before these: `older` events on a tenth as
    many tickets of their own; then EVENTS events (a fifth of them messages) on each of
    `ticket_ids`. Set-based INSERTs."""
    connection = await db.connect(url)
    try:
        await connection.execute(
            """
            INSERT INTO tickets (subject, description, status, channel, urgency, impact,
                                 priority, requester_id, created_by_id, created_at, updated_at)
            SELECT 'Older ticket ' || n, 'x', 'closed', 'web', 'medium', 'medium', 'medium',
                   $1, $1, now() - interval '1 day', now() - interval '1 day'
            FROM generate_series(1, $2) AS n
            """,
            actor_id,
            max(1, older // 10),
        )
        await connection.execute(
            """
            INSERT INTO ticket_events
                (ticket_id, kind, visibility, actor_id, data, ticket_version, created_at)
            SELECT t.id, 'ticket.updated', 'public', $1, '{}', 1, t.created_at
            FROM tickets AS t, generate_series(1, 10) AS n
            WHERE t.subject LIKE 'Older ticket %'
            ORDER BY t.id, n
            """,
            actor_id,
        )
        await connection.execute(
            """
            INSERT INTO messages (ticket_id, author_id, visibility, channel, body, created_at)
            SELECT t, $2, CASE WHEN n % 4 = 0 THEN 'internal' ELSE 'public' END, 'web',
                   'Message ' || n || ' on ticket ' || t, now() - make_interval(secs => $3 - n)
            FROM unnest($1::bigint[]) AS t, generate_series(1, $3 / 5) AS n
            """,
            ticket_ids,
            actor_id,
            events,
        )
        await connection.execute(
            """
            INSERT INTO ticket_events
                (ticket_id, kind, visibility, actor_id, data, ticket_version, created_at)
            SELECT t,
                   CASE WHEN n % 5 = 0 THEN 'message.created' ELSE 'ticket.updated' END,
                   CASE WHEN n % 3 = 0 THEN 'internal' ELSE 'public' END,
                   $2, jsonb_build_object('n', n), 1, now() - make_interval(secs => $3 - n)
            FROM unnest($1::bigint[]) AS t, generate_series(1, $3 - 1) AS n
            """,
            ticket_ids,
            actor_id,
            events,
        )
        # What the recorder keeps current: each ticket's pointers to its latest events.
        await connection.execute(
            """
            UPDATE tickets AS t
            SET last_event_id = e.last, last_public_event_id = e.last_public
            FROM (
                SELECT ticket_id, max(id) AS last,
                       max(id) FILTER (WHERE visibility = 'public') AS last_public
                FROM ticket_events GROUP BY ticket_id
            ) AS e
            WHERE e.ticket_id = t.id
            """
        )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50": statistics.median(ordered),
        "p95": ordered[max(0, round(0.95 * len(ordered)) - 1)],
        "max": ordered[-1],
    }


async def run(pairs: int, events: int, warmup: int, older: int) -> dict[str, Any]:
    url = _url()
    await _prepare(url)
    token = await _admin_token(url)
    settings = Settings(
        env=Environment.TEST,
        database_url=url,
        rate_limit_per_minute=100_000_000,
        rate_limit_burst=1_000_000,
        notification_workers=0,
        continuity_scheduler=False,
        sla_watcher=False,
    )
    app = create_app(settings)
    headers = {"Authorization": f"Bearer {token}"}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            agent = (
                await client.post(
                    f"{API}/users",
                    json={"email": "agent@example.com", "name": "Agent", "role": "agent"},
                    headers=headers,
                )
            ).json()
            ids = []
            for n in range(2 * (pairs + warmup)):
                body = {
                    "subject": f"Ticket {n}",
                    "description": "VPN drops",
                    "requester": {"email": f"c{n % 7}@customers.example"},
                }
                created = await client.post(f"{API}/tickets", json=body, headers=headers)
                ids.append(created.json()["id"])
            await _grow_timelines(url, ids, events, agent["id"], older)
            merges: list[float] = []
            reads: list[float] = []
            for index in range(pairs + warmup):
                duplicate, primary = ids[2 * index], ids[2 * index + 1]
                versions = {}
                for ticket_id in (duplicate, primary):
                    read = await client.get(f"{API}/tickets/{ticket_id}", headers=headers)
                    versions[ticket_id] = read.headers["ETag"]
                started = time.perf_counter()
                response = await client.post(
                    f"{API}/tickets/{duplicate}/merge",
                    json={"into_id": primary, "into_version": int(versions[primary].strip('"'))},
                    headers={**headers, "If-Match": versions[duplicate]},
                )
                elapsed = (time.perf_counter() - started) * 1000
                assert response.status_code == 200, response.text
                started = time.perf_counter()
                page = await client.get(
                    f"{API}/tickets/{primary}/events", params={"limit": 50}, headers=headers
                )
                read_ms = (time.perf_counter() - started) * 1000
                assert page.status_code == 200, page.text
                assert {e["ticket_id"] for e in page.json()["items"]} == {duplicate, primary}
                if index >= warmup:
                    merges.append(elapsed)
                    reads.append(read_ms)
    return {
        "merge": _ms(merges),
        "timeline": _ms(reads),
        "pairs": pairs,
        "events": events,
        "older": older,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=30)
    parser.add_argument("--events", type=int, default=1000, help="events per ticket")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument(
        "--older", type=int, default=500_000, help="events of other tickets, written before"
    )
    args = parser.parse_args()
    result = asyncio.run(run(args.pairs, args.events, args.warmup, args.older))
    machine = f"{platform.platform()}, {os.cpu_count()} cores"
    print(f"machine: {machine}, python {platform.python_version()}")
    print(
        f"{result['pairs']} merges of two tickets with {result['events']} events each, "
        f"after {result['older']:,} events of other tickets\n"
    )
    print("| what | p50 ms | p95 ms | max ms | target |")
    print("|---|---|---|---|---|")
    merge, read = result["merge"], result["timeline"]
    verdict = "met" if merge["max"] < TARGET_MS else "MISSED"
    print(
        f"| POST /tickets/{{id}}/merge | {merge['p50']:.1f} | {merge['p95']:.1f} | "
        f"{merge['max']:.1f} | < {TARGET_MS:.0f} ms: {verdict} |"
    )
    print(
        f"| GET /tickets/{{primary}}/events (first 50 of the union) | {read['p50']:.1f} | "
        f"{read['p95']:.1f} | {read['max']:.1f} | |"
    )


if __name__ == "__main__":
    main()
