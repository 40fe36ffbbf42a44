"""Fill the database with N realistic tickets, fast: `python -m bench load --tickets N`.

How it stays fast on two cores:

1. Users (customers, agents, supervisors, integrations), teams and members are
   written with COPY.
2. Ticket rows are generated in Python and streamed with COPY
   (`copy_records_to_table`) into an UNLOGGED staging table with no indexes; two
   connections take turns, so PostgreSQL ingests one chunk while Python builds the
   next.
3. The secondary indexes of `tickets` and `ticket_events` are dropped (their
   definitions are saved in `bench_saved_indexes` first, so an interrupted load
   restores them on the next run) and rebuilt at the end, two at a time:
   building an index once is far cheaper than maintaining it row by row.
4. `INSERT INTO tickets ... SELECT` from staging computes `search_public` with
   `to_tsvector` (the same expression the service uses) in two parallel halves; the
   `ticket.created` events are built in SQL from the tickets (jsonb_build_object),
   and `last_event_id`/`last_public_event_id` are set on insert, since event ids are
   allocated in step with ticket ids. No UPDATE pass, so no dead tuples.
5. Foreign-key triggers and the `pg_notify` trigger on `ticket_events` are skipped
   (`session_replication_role = replica`) — a million notifications would only fill
   the queue — and the references are verified with anti-joins afterwards instead.
6. Waiting tickets whose SLA targets have already passed are marked as flagged, as
   the migration that introduced the SLA watcher does for existing tickets.
7. VACUUM ANALYZE sets hint bits and the visibility map and gathers statistics, so
   the benchmark sees a table in its steady state; a CHECKPOINT then writes out what
   the load dirtied, which the first scenario's backends would otherwise write while
   they wait (GET p99 of 1.8 s right after a VACUUM, measured).

Every NOT NULL and CHECK constraint of the real schema (migrations/versions/) still
applies: CHECKs are not triggers, and the rows are generated to satisfy them.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from app.config import Settings
from app.models import Priority
from app.sla.policy import targets
from bench import db
from bench.words import CATEGORIES, FIRST_NAMES, LAST_NAMES, TAGS, TEAMS, TextMaker

DAY = 86_400.0
SPAN_DAYS = 730  # tickets were filed over the last two years, more of them recently

# (urgency, impact) -> priority, as app/tickets/lifecycle.py derive_priority.
PRIORITY = {
    ("high", "high"): "critical",
    ("high", "medium"): "high",
    ("high", "low"): "medium",
    ("medium", "high"): "high",
    ("medium", "medium"): "medium",
    ("medium", "low"): "low",
    ("low", "high"): "medium",
    ("low", "medium"): "low",
    ("low", "low"): "planning",
}
# Minutes to first response and to resolution, as app/sla/policy.py.
SLA_MINUTES = {
    "critical": (15, 4 * 60),
    "high": (60, 8 * 60),
    "medium": (4 * 60, 24 * 60),
    "low": (8 * 60, 3 * 24 * 60),
    "planning": (24 * 60, 14 * 24 * 60),
}
STATUSES = ["new", "open", "pending", "resolved", "closed"]
# Status mix by age: recent tickets are still being worked, old ones are mostly closed.
# Overall about 15% open with the age distribution below.
STATUS_WEIGHTS_BY_AGE = [
    (3.0, [30, 45, 10, 15, 0]),  # younger than 3 days
    (60.0, [5, 40, 15, 20, 20]),  # 3 to 60 days
    (math.inf, [0.5, 8, 3, 3.5, 85]),  # older
]
LEVELS = ["low", "medium", "high"]
LEVEL_WEIGHTS = [30, 50, 20]
CHANNELS = ["web", "email", "phone", "chat", "sms", "social", "api"]
CHANNEL_WEIGHTS = [35, 28, 12, 12, 2, 4, 7]
SELF_SERVICE_CHANNELS = frozenset({"web", "chat", "sms", "social"})

STAGING = "bench_ticket_staging"
SAVED_INDEXES = "bench_saved_indexes"
BENCH_EMAIL_DOMAIN = "bench.example.com"

STAGING_COLUMNS = [
    "id",
    "subject",
    "description",
    "status",
    "channel",
    "urgency",
    "impact",
    "priority",
    "category",
    "tags",
    "requester_id",
    "owner_id",
    "team_id",
    "created_by_id",
    "external_ref",
    "first_response_at",
    "resolved_at",
    "first_response_due_at",
    "resolution_due_at",
    "created_at",
    "updated_at",
]
_TIME_COLUMNS = (
    "first_response_at",
    "resolved_at",
    "first_response_due_at",
    "resolution_due_at",
    "created_at",
    "updated_at",
)


@dataclass
class People:
    customers: list[int]
    agents: list[int]
    supervisors: list[int]
    integrations: list[int]
    teams: list[int]
    team_agents: dict[int, list[int]]


@dataclass
class LoadReport:
    tickets: int
    customers: int
    agents: int
    phases: list[tuple[str, float]] = field(default_factory=list)

    @property
    def total_seconds(self) -> float:
        return sum(seconds for _, seconds in self.phases)

    def print(self) -> None:
        print(
            f"\nLoaded {self.tickets:,} tickets ({self.customers:,} customers, "
            f"{self.agents} agents):"
        )
        for name, seconds in self.phases:
            print(f"  {name:<44} {seconds:8.1f} s")
        total = self.total_seconds
        rate = self.tickets / total if total else 0.0
        print(f"  {'total':<44} {total:8.1f} s  ({rate:,.0f} tickets/s)")


class _Timer:
    def __init__(self, report: LoadReport) -> None:
        self.report = report

    async def run(self, name: str, work: Awaitable[Any]) -> Any:
        print(f"  {name} ...", flush=True)
        started = time.perf_counter()
        result = await work
        elapsed = time.perf_counter() - started
        self.report.phases.append((name, elapsed))
        print(f"  {name}: {elapsed:.1f} s", flush=True)
        return result


# --------------------------------------------------------------------------------------
# Session settings for the bulk connections


async def _bulk_connection(url: str) -> asyncpg.Connection:
    conn = await db.connect(url)
    # Superuser-only (the bench database's owner is the postgres superuser): skips the
    # FK triggers and the pg_notify trigger for the rows we write; CHECK and NOT NULL
    # constraints still apply.
    await conn.execute("SET session_replication_role = replica")
    await conn.execute("SET synchronous_commit = off")
    await conn.execute("SET maintenance_work_mem = '1GB'")
    await conn.execute("SET work_mem = '256MB'")
    # Parallelism comes from running two statements at once; two extra workers each
    # would only oversubscribe two cores.
    await conn.execute("SET max_parallel_maintenance_workers = 0")
    await conn.execute("SET max_parallel_workers_per_gather = 0")
    return conn


async def _in_parallel(
    conns: Sequence[asyncpg.Connection],
    jobs: Sequence[Callable[[asyncpg.Connection], Awaitable[Any]]],
) -> None:
    """Run jobs on the connections, each connection taking the next job when free."""
    queue: asyncio.Queue[Callable[[asyncpg.Connection], Awaitable[Any]]] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)

    async def worker(conn: asyncpg.Connection) -> None:
        while not queue.empty():
            job = queue.get_nowait()
            await job(conn)

    await asyncio.gather(*(worker(c) for c in conns))


# --------------------------------------------------------------------------------------
# Indexes: save, drop, restore


async def restore_saved_indexes(conn: asyncpg.Connection) -> int:
    """Recreate indexes saved by an earlier load that did not finish. Returns how many."""
    exists = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", SAVED_INDEXES)
    if not exists:
        return 0
    rows = await conn.fetch(f"SELECT name, definition FROM {SAVED_INDEXES}")  # noqa: S608
    restored = 0
    for row in rows:
        if await conn.fetchval("SELECT to_regclass($1) IS NULL", row["name"]):
            await conn.execute(row["definition"])
            restored += 1
    await conn.execute(f"DROP TABLE {SAVED_INDEXES}")
    return restored


async def _drop_secondary_indexes(conn: asyncpg.Connection) -> list[tuple[str, str]]:
    rows = await conn.fetch(
        """
        SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition
        FROM pg_index i
        JOIN pg_class t ON t.oid = i.indrelid
        WHERE t.relname IN ('tickets', 'ticket_events')
          AND t.relnamespace = 'public'::regnamespace
          AND NOT EXISTS (
              SELECT 1 FROM pg_constraint c
              WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid
          )
        ORDER BY pg_relation_size(i.indexrelid) DESC
        """
    )
    indexes = [(r["name"], r["definition"]) for r in rows]
    async with conn.transaction():
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {SAVED_INDEXES} (name text PRIMARY KEY, definition text)"
        )
        await conn.executemany(
            f"INSERT INTO {SAVED_INDEXES} VALUES ($1, $2) ON CONFLICT DO NOTHING",  # noqa: S608
            indexes,
        )
        for name, _ in indexes:
            await conn.execute(f"DROP INDEX {name}")
    return indexes


def _index_cost(definition: str) -> int:
    """Build the expensive indexes first, so the two builders finish together."""
    if "search_public" in definition:
        return 0
    if "gin" in definition.lower():
        return 1
    return 2


async def _rebuild_indexes(
    conns: Sequence[asyncpg.Connection], indexes: list[tuple[str, str]]
) -> None:
    ordered = sorted(indexes, key=lambda item: _index_cost(item[1]))

    def build(definition: str) -> Callable[[asyncpg.Connection], Awaitable[Any]]:
        async def job(conn: asyncpg.Connection) -> None:
            started = time.perf_counter()
            await conn.execute(definition)
            name = definition.split(" ON ", 1)[0].split()[-1]
            print(f"    {name}: {time.perf_counter() - started:.1f} s", flush=True)

        return job

    await _in_parallel(conns, [build(d) for _, d in ordered])
    await conns[0].execute(f"DROP TABLE IF EXISTS {SAVED_INDEXES}")


# --------------------------------------------------------------------------------------
# People


async def _reset(conn: asyncpg.Connection) -> None:
    await conn.execute(
        "TRUNCATE ticket_events, messages, tickets, idempotency_records, team_members, teams, "
        "api_tokens, users RESTART IDENTITY CASCADE"
    )


async def _load_people(
    conn: asyncpg.Connection, rng: random.Random, customers: int, agents: int
) -> People:
    run = f"{int(time.time()):x}"  # emails stay unique if a load appends to an earlier one
    people: list[tuple[str, str, str, str | None, str, str]] = []

    def person(role: str, n: int) -> tuple[str, str, str, str | None, str, str]:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        italian = rng.random() < 0.6
        phone = f"+39{rng.randrange(3_000_000_000, 3_999_999_999)}" if rng.random() < 0.4 else None
        email = f"{first}.{last}.{role}{n}.{run}@{BENCH_EMAIL_DOMAIN}".lower()
        return (
            email,
            f"{first} {last}",
            role,
            phone,
            "Europe/Rome" if italian else rng.choice(["UTC", "Europe/London", "America/New_York"]),
            "it" if italian else "en",
        )

    people += [person("customer", n) for n in range(customers)]
    people += [person("agent", n) for n in range(agents)]
    people += [person("supervisor", n) for n in range(3)]
    people += [person("integration", n) for n in range(2)]
    await conn.copy_records_to_table(
        "users",
        records=people,
        columns=["email", "name", "role", "phone", "timezone", "locale"],
    )
    rows = await conn.fetch(
        "SELECT id, role FROM users WHERE email LIKE $1 ORDER BY id",
        f"%.{run}@{BENCH_EMAIL_DOMAIN}",
    )
    by_role: dict[str, list[int]] = {}
    for row in rows:
        by_role.setdefault(row["role"], []).append(row["id"])

    team_ids = []
    for index, name in enumerate(TEAMS):
        team_id = await conn.fetchval(
            "INSERT INTO teams (name, assignment) VALUES ($1, $2) "
            "ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id",
            name,
            ["manual", "round_robin", "least_loaded"][index % 3],
        )
        team_ids.append(team_id)
    team_agents: dict[int, list[int]] = {t: [] for t in team_ids}
    members = []
    for index, agent_id in enumerate(by_role["agent"]):
        team_id = team_ids[index % len(team_ids)]
        team_agents[team_id].append(agent_id)
        members.append((team_id, agent_id))
    for supervisor_id in by_role["supervisor"]:
        members += [(team_id, supervisor_id) for team_id in team_ids]
    await conn.copy_records_to_table(
        "team_members", records=members, columns=["team_id", "user_id"]
    )
    return People(
        customers=by_role["customer"],
        agents=by_role["agent"],
        supervisors=by_role["supervisor"],
        integrations=by_role["integration"],
        teams=team_ids,
        team_agents=team_agents,
    )


# --------------------------------------------------------------------------------------
# Tickets


class TicketMaker:
    def __init__(self, rng: random.Random, people: People, now: float) -> None:
        self.rng = rng
        self.text = TextMaker(rng)
        self.people = people
        self.now = now

    def rows(self, first_id: int, count: int) -> list[tuple[Any, ...]]:
        rng = self.rng
        rand = rng.random
        now = self.now
        people = self.people
        customers = people.customers
        n_customers = len(customers)
        agents = people.agents
        teams = people.teams
        team_agents = people.team_agents
        integrations = people.integrations
        subject = self.text.subject
        description = self.text.description
        choices = rng.choices
        rows = []
        statuses_by_age = STATUS_WEIGHTS_BY_AGE
        for ticket_id in range(first_id, first_id + count):
            age_days = SPAN_DAYS * rand() ** 1.6 + 1 / 24
            created = now - age_days * DAY
            for limit, weights in statuses_by_age:
                if age_days < limit:
                    status = choices(STATUSES, weights)[0]
                    break
            urgency, impact = choices(LEVELS, LEVEL_WEIGHTS, k=2)
            priority = PRIORITY[(urgency, impact)]
            first_due, resolve_due = SLA_MINUTES[priority]
            channel = choices(CHANNELS, CHANNEL_WEIGHTS)[0]
            # Some customers file far more tickets than others.
            requester = customers[int(n_customers * rand() ** 2)]

            team = rng.choice(teams) if rand() < 0.85 else None
            owner = None
            if status != "new" or rand() < 0.1:
                pool = team_agents[team] if team is not None and team_agents[team] else agents
                owner = rng.choice(pool)

            first_response = resolved = None
            updated = created
            if status != "new":
                first_response = min(now, created + rng.uniform(300, DAY))
                if status in ("open", "pending"):
                    updated = first_response + rand() * (now - first_response)
                else:
                    resolved = min(now, first_response + rng.expovariate(1 / (2 * DAY)))
                    updated = resolved
                    if status == "closed":
                        updated = min(now, resolved + rng.uniform(DAY, 7 * DAY))

            external_ref = None
            if channel in SELF_SERVICE_CHANNELS:
                created_by = requester
            elif channel == "api":
                created_by = rng.choice(integrations)
                external_ref = f"CRM-{ticket_id}"
            else:  # email, phone: an agent files it for the customer
                created_by = owner if owner is not None else rng.choice(agents)

            tags = rng.sample(TAGS, choices((0, 1, 2, 3), (30, 40, 20, 10))[0])
            rows.append(
                (
                    ticket_id,
                    subject(),
                    description(),
                    status,
                    channel,
                    urgency,
                    impact,
                    priority,
                    rng.choice(CATEGORIES) if rand() < 0.9 else None,
                    tags,
                    requester,
                    owner,
                    team,
                    created_by,
                    external_ref,
                    first_response,
                    resolved,
                    created + first_due * 60.0,
                    created + resolve_due * 60.0,
                    created,
                    updated,
                )
            )
        return rows


async def _create_staging(conn: asyncpg.Connection) -> None:
    await conn.execute(f"DROP TABLE IF EXISTS {STAGING}")
    # Times travel as epoch seconds (float8): far cheaper to build and encode in Python.
    await conn.execute(
        f"""
        CREATE UNLOGGED TABLE {STAGING} (
            id bigint, subject text, description text, status text, channel text,
            urgency text, impact text, priority text, category text, tags text[],
            requester_id bigint, owner_id bigint, team_id bigint, created_by_id bigint,
            external_ref text, first_response_at float8, resolved_at float8,
            first_response_due_at float8, resolution_due_at float8,
            created_at float8, updated_at float8
        )
        """
    )


async def _copy_tickets(
    conns: Sequence[asyncpg.Connection],
    maker: TicketMaker,
    first_id: int,
    count: int,
    chunk: int,
) -> None:
    """Generate and COPY chunks; each connection streams while Python builds the next."""
    starts = list(range(first_id, first_id + count, chunk))
    done = 0
    next_report = time.perf_counter() + 10
    pending: list[asyncio.Task[str]] = []
    for index, start in enumerate(starts):
        size = min(chunk, first_id + count - start)
        rows = maker.rows(start, size)
        conn = conns[index % len(conns)]
        # At most one COPY in flight per connection.
        if len(pending) >= len(conns):
            await pending.pop(0)
        pending.append(
            asyncio.create_task(
                conn.copy_records_to_table(STAGING, records=rows, columns=STAGING_COLUMNS)
            )
        )
        await asyncio.sleep(0)  # let the COPY start streaming
        done += size
        if time.perf_counter() >= next_report:
            print(f"    {done:,}/{count:,} generated", flush=True)
            next_report = time.perf_counter() + 10
    for task in pending:
        await task


def _timestamp(column: str) -> str:
    return f"to_timestamp(s.{column})"


async def _move_tickets(
    conns: Sequence[asyncpg.Connection],
    first_id: int,
    count: int,
    event_offset: int,
    search_config: str,
) -> None:
    """INSERT ... SELECT from staging, computing the search vector; two halves at once."""
    columns = list(STAGING_COLUMNS)
    select = [_timestamp(c) if c in _TIME_COLUMNS else f"s.{c}" for c in columns]
    # The service's own expression (app/tickets/search.py ticket_text_vector).
    text = "s.subject || E'\\n' || left(s.description, 20000)"
    vector = f"to_tsvector('{search_config}'::regconfig, {text})"
    sql = f"""
        INSERT INTO tickets ({", ".join(columns)}, search_public, last_event_id,
                             last_public_event_id, version)
        OVERRIDING SYSTEM VALUE
        SELECT {", ".join(select)}, {vector}, s.id + $3, s.id + $3, 1
        FROM {STAGING} s
        WHERE s.id >= $1 AND s.id < $2
    """  # noqa: S608
    await _run_in_halves(conns, sql, first_id, count, event_offset)


async def _create_events(
    conns: Sequence[asyncpg.Connection], first_id: int, count: int, event_offset: int
) -> None:
    """One public `ticket.created` event per ticket, its data as the service writes it."""
    sql = """
        INSERT INTO ticket_events
            (id, ticket_id, kind, visibility, actor_id, data, ticket_version, created_at)
        OVERRIDING SYSTEM VALUE
        SELECT t.id + $3, t.id, 'ticket.created', 'public', t.created_by_id,
               jsonb_build_object(
                   'subject', t.subject, 'channel', t.channel, 'urgency', t.urgency,
                   'impact', t.impact, 'priority', t.priority, 'category', t.category,
                   'requester', jsonb_build_object('id', u.id, 'name', u.name),
                   'team_id', t.team_id),
               1, t.created_at
        FROM tickets t JOIN users u ON u.id = t.requester_id
        WHERE t.id >= $1 AND t.id < $2
    """
    await _run_in_halves(conns, sql, first_id, count, event_offset)


async def _settle_sla(conns: Sequence[asyncpg.Connection], first_id: int, count: int) -> None:
    """Mark the targets already missed as flagged, as the migration does for tickets that
    exist when the SLA watcher arrives: otherwise the benchmarked server's watcher would
    spend the run flagging every old waiting ticket, a backlog a real deployment never
    has (its watcher flags each breach as it happens)."""
    sql = """
        UPDATE tickets SET
            first_response_breached_for = CASE
                WHEN first_response_at IS NULL AND first_response_due_at <= now()
                THEN first_response_due_at END,
            resolution_breached_for = CASE
                WHEN resolution_due_at <= now() THEN resolution_due_at END
        WHERE id >= $1 AND id < $2 AND status IN ('new', 'open', 'pending')
          AND (resolution_due_at <= now()
               OR (first_response_at IS NULL AND first_response_due_at <= now()))
    """
    await _run_in_halves(conns, sql, first_id, count)
    # And the warnings it would have raised for targets now close: the ones a fresh
    # server's watcher would otherwise raise (and mail) in its first seconds.
    remaining = 1 - Settings().sla_warning_ratio
    windows = {p.value: [t.total_seconds() * remaining for t in targets(p)] for p in Priority}
    warnings = """
        INSERT INTO sla_alerts (ticket_id, target, level, due_at)
        SELECT t.id, 'first_response', 'warning', t.first_response_due_at
        FROM tickets t JOIN unnest($3::text[], $4::float8[]) AS w(priority, window_seconds)
            ON w.priority = t.priority
        WHERE t.id >= $1 AND t.id < $2 AND t.status IN ('new', 'open', 'pending')
          AND t.first_response_at IS NULL AND t.first_response_due_at > now()
          AND t.first_response_due_at <= now() + make_interval(secs => w.window_seconds)
        UNION ALL
        SELECT t.id, 'resolution', 'warning', t.resolution_due_at
        FROM tickets t JOIN unnest($3::text[], $5::float8[]) AS w(priority, window_seconds)
            ON w.priority = t.priority
        WHERE t.id >= $1 AND t.id < $2 AND t.status IN ('new', 'open', 'pending')
          AND t.resolution_due_at > now()
          AND t.resolution_due_at <= now() + make_interval(secs => w.window_seconds)
    """
    await _run_in_halves(
        conns,
        warnings,
        first_id,
        count,
        list(windows),
        [first for first, _ in windows.values()],
        [resolution for _, resolution in windows.values()],
    )


async def _run_in_halves(
    conns: Sequence[asyncpg.Connection], sql: str, first_id: int, count: int, *extra: Any
) -> None:
    parts = len(conns)
    step = math.ceil(count / parts)
    await asyncio.gather(
        *(
            conn.execute(
                sql, first_id + i * step, min(first_id + count, first_id + (i + 1) * step), *extra
            )
            for i, conn in enumerate(conns)
        )
    )


async def _verify(conn: asyncpg.Connection, first_id: int) -> None:
    """The references the skipped FK triggers would have checked."""
    checks = {
        "requester": "tickets t LEFT JOIN users u ON u.id = t.requester_id "
        "WHERE t.id >= $1 AND u.id IS NULL",
        "creator": "tickets t LEFT JOIN users u ON u.id = t.created_by_id "
        "WHERE t.id >= $1 AND u.id IS NULL",
        "owner": "tickets t LEFT JOIN users u ON u.id = t.owner_id "
        "WHERE t.id >= $1 AND t.owner_id IS NOT NULL AND u.id IS NULL",
        "team": "tickets t LEFT JOIN teams m ON m.id = t.team_id "
        "WHERE t.id >= $1 AND t.team_id IS NOT NULL AND m.id IS NULL",
        "event": "tickets t LEFT JOIN ticket_events e ON e.id = t.last_event_id "
        "WHERE t.id >= $1 AND (e.id IS NULL OR e.ticket_id <> t.id)",
    }
    for name, where in checks.items():
        broken = await conn.fetchval(f"SELECT count(*) FROM {where}", first_id)  # noqa: S608
        if broken:
            raise RuntimeError(f"{broken} tickets have a dangling {name} reference")


async def _set_sequences(conn: asyncpg.Connection) -> None:
    for table in ("tickets", "ticket_events"):
        sql = (
            "SELECT setval(pg_get_serial_sequence('{0}', 'id'), "
            "GREATEST((SELECT max(id) FROM {0}), 1))"
        )
        await conn.execute(sql.format(table))


async def _vacuum_analyze(conns: Sequence[asyncpg.Connection]) -> None:
    jobs = [
        lambda c: c.execute("VACUUM (ANALYZE) tickets"),
        lambda c: c.execute("VACUUM (ANALYZE) ticket_events"),
        lambda c: c.execute("VACUUM (ANALYZE) users"),
        lambda c: c.execute("VACUUM (ANALYZE) teams"),
        lambda c: c.execute("VACUUM (ANALYZE) team_members"),
    ]
    await _in_parallel(conns, jobs)
    # Written out now, not by the first scenario's backends evicting dirty buffers.
    await conns[0].execute("CHECKPOINT")


async def load(
    url: str,
    tickets: int,
    *,
    customers: int = 5000,
    agents: int = 30,
    reset: bool = True,
    seed: int = 42,
    chunk: int = 20_000,
    search_config: str = "simple",
) -> LoadReport:
    if not re.fullmatch(r"[a-z_]+", search_config):
        raise ValueError(f"not a text search configuration name: {search_config!r}")
    report = LoadReport(tickets=tickets, customers=customers, agents=agents)
    timer = _Timer(report)
    rng = random.Random(seed)
    conns = [await _bulk_connection(url), await _bulk_connection(url)]
    main = conns[0]
    try:
        restored = await restore_saved_indexes(main)
        if restored:
            print(f"  restored {restored} indexes left dropped by an interrupted load")
        if reset:
            await timer.run("truncate", _reset(main))
        elif await main.fetchval("SELECT EXISTS (SELECT 1 FROM tickets)"):
            print("  appending to the tickets already loaded")
        people = await timer.run("users, teams (COPY)", _load_people(main, rng, customers, agents))
        first_id = int(await main.fetchval("SELECT coalesce(max(id), 0) + 1 FROM tickets"))
        first_event = int(await main.fetchval("SELECT coalesce(max(id), 0) + 1 FROM ticket_events"))
        event_offset = first_event - first_id

        indexes = await timer.run("drop secondary indexes", _drop_secondary_indexes(main))
        await _create_staging(main)
        maker = TicketMaker(rng, people, time.time())
        await timer.run(
            "generate + COPY tickets into staging",
            _copy_tickets(conns, maker, first_id, tickets, chunk),
        )
        await timer.run(
            "INSERT tickets + to_tsvector (2 halves)",
            _move_tickets(conns, first_id, tickets, event_offset, search_config),
        )
        await main.execute(f"DROP TABLE {STAGING}")
        await timer.run(
            "INSERT ticket.created events (2 halves)",
            _create_events(conns, first_id, tickets, event_offset),
        )
        await timer.run(
            "SLA alerts a running service would have raised", _settle_sla(conns, first_id, tickets)
        )
        await _set_sequences(main)
        await timer.run(
            f"rebuild {len(indexes)} indexes (2 at a time)", _rebuild_indexes(conns, indexes)
        )
        await timer.run("verify references", _verify(main, first_id))
        await timer.run("VACUUM ANALYZE", _vacuum_analyze(conns))
        report.print()
        return report
    finally:
        for conn in conns:
            await conn.close()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tickets", type=int, default=1_000_000, help="how many (default 1,000,000)"
    )
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--agents", type=int, default=30)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--chunk", type=int, default=20_000, help="rows per COPY")
    parser.add_argument(
        "--append",
        action="store_true",
        help="keep existing data (default: TRUNCATE every table of the bench database first)",
    )
    parser.add_argument("--search-config", default="simple", help="as HELPDESK_SEARCH_CONFIG")
    parser.add_argument(
        "--database-url",
        default=None,
        help="default: $HELPDESK_BENCH_DATABASE_URL or " + db.DEFAULT_BENCH_URL,
    )


async def run(args: argparse.Namespace) -> LoadReport:
    url = args.database_url or db.bench_database_url()
    if await db.ensure_database(url):
        print(f"created database {db.database_name(url)}")
    from bench.server import migrate

    migrate(url)
    print(f"loading {args.tickets:,} tickets into {db.database_name(url)}")
    return await load(
        url,
        args.tickets,
        customers=args.customers,
        agents=args.agents,
        reset=not args.append,
        seed=args.seed,
        chunk=args.chunk,
        search_config=args.search_config,
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.load_tickets", description=__doc__)
    add_arguments(parser)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
