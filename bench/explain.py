"""EXPLAIN ANALYZE of the queries the service really sends for a ticket list and a search.

The SQL is taken from the service's own code (app/tickets/repository.py), captured
with a stub session and compiled for asyncpg, so the plans are those of the query the
API runs, joins to requester, owner, team and last event included.

Each query is measured two ways:

- custom plan: `EXPLAIN (ANALYZE, BUFFERS)` with the values inlined, which is what
  psql would show;
- as the service runs it: SQLAlchemy's asyncpg driver sends every query as a named
  prepared statement, and after five executions PostgreSQL may switch a prepared
  statement to a generic plan, chosen without knowing the searched word. So the query
  is PREPAREd, executed five times with other values, then `EXPLAIN ANALYZE EXECUTE`d.
"""

from __future__ import annotations

import json
import random
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import asyncpg

from bench import db
from bench.words import CONTENT_WORDS


@dataclass
class CapturedQuery:
    sql: str  # $1, $2 ... placeholders, as asyncpg receives it
    params: list[Any]


class _StubSession:
    """Records the statement the repository would execute; returns no tickets (a page's
    keys come with their snapshot's xmin even when empty: one row of NULL keys)."""

    def __init__(self) -> None:
        self.statements: list[Any] = []
        self.sync_session = self  # asked whether the request holds a connection yet

    def get_transaction(self) -> None:
        return None

    async def connection(self, execution_options: Any = None) -> _StubSession:
        return self

    async def scalar(self, statement: Any) -> int:
        self.statements.append((statement, {}))
        return 1

    async def execute(self, statement: Any, params: Any = None) -> Any:
        self.statements.append((statement, params or {}))
        empty_page = [(1, None, None)] if "snapshot_xmin" in statement.selected_columns else []

        class _Rows:
            def all(self) -> list[Any]:
                return empty_page

            def first(self) -> None:
                return None

        return _Rows()


def _compile(captured: tuple[Any, dict[str, Any]]) -> CapturedQuery:
    from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect

    statement, values = captured
    compiled = statement.compile(
        dialect=asyncpg_dialect.dialect(), compile_kwargs={"render_postcompile": True}
    )
    # Values the repository passes at execution (the reused statements' parameters).
    bound = compiled.construct_params(values)
    params = [bound[name] for name in compiled.positiontup]
    params = [p.value if isinstance(p, Enum) else p for p in params]
    return CapturedQuery(sql=str(compiled), params=params)


def capture_queries(viewer_id: int, search_config: str = "simple") -> dict[str, Any]:
    """Builders for the SQL of list_open, search and get, as an agent sees them."""
    from app.models import Role, TicketStatus, User
    from app.tickets import repository
    from app.tickets.schemas import TicketFilters

    viewer = User(id=viewer_id, role=Role.AGENT, name="bench", email="bench@example.com")

    async def listing(session: Any, filters: Any) -> None:
        await repository.list_tickets(
            session, viewer, filters, limit=50, cursor=None, search_config=search_config
        )

    async def reading(session: Any, ticket_id: int) -> None:
        await repository.read_ticket(session, viewer, ticket_id)

    def capture(make: Any, index: int = 0) -> CapturedQuery:
        session = _StubSession()
        # The stub never suspends, so the coroutine runs to completion in one step:
        # no event loop needed (this is called from inside one).
        coroutine = make(session)
        try:
            coroutine.send(None)
        except StopIteration:
            pass
        else:
            coroutine.close()
            raise RuntimeError("the repository awaited something other than the session")
        # The first statement finds the page (the details are read by primary key
        # after it); with no rows a search goes on to its GIN step (index 2).
        return _compile(session.statements[index])

    return {
        "list_open": capture(lambda s: listing(s, TicketFilters(status=[TicketStatus.OPEN]))),
        "search": lambda word: capture(lambda s: listing(s, TicketFilters(q=word))),
        "search_index": lambda word: capture(lambda s: listing(s, TicketFilters(q=word)), 2),
        "get": lambda ticket_id: capture(lambda s: reading(s, ticket_id)),
    }


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _inline(query: CapturedQuery) -> str:
    sql = query.sql
    # Highest numbers first, so $1 does not clobber $10.
    for index in range(len(query.params), 0, -1):
        sql = sql.replace(f"${index}", _literal(query.params[index - 1]))
    return sql


@dataclass
class Explained:
    label: str
    execution_ms: float
    planning_ms: float
    plan_text: str
    shape: str  # the plan's node types, to tell plans apart
    rows: int = 0


def _driver(shape: str) -> str:
    """The first scan of a plan shape (its left-deep driver): what finds the tickets."""
    match = re.search(r"(Bitmap Heap Scan|Seq Scan|Index Only Scan \S+|Index Scan \S+)", shape)
    if match is None:
        return "?"
    found = match.group(1).rstrip(",)")
    if found == "Bitmap Heap Scan":
        inner = re.search(r"Bitmap Index Scan \S+", shape[match.end() :])
        found += f" ({inner.group(0).rstrip(',)')})" if inner else ""
    return found


def _shape(plan: dict[str, Any]) -> str:
    node = plan["Node Type"]
    if "Index Name" in plan:
        node += f" {plan['Index Name']}"
    children = plan.get("Plans", [])
    if not children:
        return node
    return node + "(" + ", ".join(_shape(c) for c in children) + ")"


async def _explain(conn: asyncpg.Connection, label: str, sql: str) -> Explained:
    rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql)
    data = json.loads(rows[0][0])[0]
    text_rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) " + sql)
    return Explained(
        label=label,
        execution_ms=data["Execution Time"],
        planning_ms=data.get("Planning Time", 0.0),
        plan_text="\n".join(r[0] for r in text_rows),
        shape=_shape(data["Plan"]),
        rows=int(data["Plan"]["Actual Rows"]),
    )


async def explain_custom(conn: asyncpg.Connection, label: str, query: CapturedQuery) -> Explained:
    return await _explain(conn, label, _inline(query))


class Prepared:
    """A named prepared statement, used the way the service's driver uses it."""

    def __init__(self, conn: asyncpg.Connection, name: str, query: CapturedQuery) -> None:
        self.conn = conn
        self.name = name
        self.query = query

    async def prepare(self) -> None:
        await self.conn.execute(f"DEALLOCATE ALL; PREPARE {self.name} AS {self.query.sql}")

    def _execute_sql(self, params: Sequence[Any]) -> str:
        return f"EXECUTE {self.name}(" + ", ".join(_literal(p) for p in params) + ")"

    async def execute(self, params: Sequence[Any]) -> None:
        await self.conn.execute(self._execute_sql(params))

    async def explain(self, label: str, params: Sequence[Any]) -> Explained:
        return await _explain(self.conn, label, self._execute_sql(params))


@dataclass
class Distribution:
    label: str
    count: int
    p50: float
    p95: float
    p99: float
    max: float
    slowest: Explained
    plans: dict[str, int]  # plan shape -> how many words got it
    planning_p50: float = 0.0


def _distribution(label: str, runs: list[Explained]) -> Distribution:
    times = sorted(r.execution_ms for r in runs)

    def rank(p: float) -> float:
        return times[max(0, min(len(times) - 1, round(p / 100 * len(times) + 0.5) - 1))]

    plans: dict[str, int] = {}
    for r in runs:
        plans[r.shape] = plans.get(r.shape, 0) + 1
    return Distribution(
        label=label,
        count=len(runs),
        p50=rank(50),
        p95=rank(95),
        p99=rank(99),
        max=times[-1],
        slowest=max(runs, key=lambda r: r.execution_ms),
        plans=plans,
        planning_p50=statistics.median(r.planning_ms for r in runs),
    )


@dataclass
class ExplainReport:
    list_open_custom: list[Explained]
    list_open_prepared: list[Explained]
    get_custom: Explained
    search_custom: Distribution
    search_prepared: Distribution
    search_examples: list[tuple[str, int, Explained]]  # word, matching tickets, plan
    # Searches beyond one common word: a reference quoted in one ticket, a word in none,
    # two words, a negation. (query, matches, custom plan, as prepared)
    search_edges: list[tuple[str, int, Explained, Explained]] = field(default_factory=list)

    def print(self, plans: bool = True) -> None:
        def summary(runs: list[Explained]) -> str:
            times = [r.execution_ms for r in runs]
            return (
                f"median {statistics.median(times):.2f} ms, max {max(times):.2f} ms "
                f"over {len(times)} runs (planning {runs[0].planning_ms:.2f} ms)"
            )

        print("\nSQL: EXPLAIN ANALYZE of the service's queries (execution time inside PostgreSQL)")
        print(f"  list_open, custom plan:   {summary(self.list_open_custom)}")
        print(f"  list_open, as prepared:   {summary(self.list_open_prepared)}")
        print(f"  get by id, custom plan:   {self.get_custom.execution_ms:.2f} ms")
        for dist in (self.search_custom, self.search_prepared):
            print(
                f"  {dist.label:<24} over {dist.count} words: p50 {dist.p50:.1f} ms, "
                f"p95 {dist.p95:.1f} ms, p99 {dist.p99:.1f} ms, max {dist.max:.1f} ms "
                f"(slowest: {dist.slowest.label}); planning p50 {dist.planning_p50:.1f} ms"
            )
            for shape, count in sorted(dist.plans.items(), key=lambda kv: -kv[1]):
                print(f"      {count:4d} words: {shape}")
        if self.search_edges:
            print("  other searches (custom plan | as prepared):")
        for query, matches, custom, prepared in self.search_edges:
            print(
                f"    q={query!r:<28} {matches:>9,} matches: {custom.execution_ms:8.1f} ms | "
                f"{prepared.execution_ms:8.1f} ms  (planning {custom.planning_ms:.1f} ms); "
                f"drives by {_driver(custom.shape)}"
            )
        if not plans:
            return
        print("\n--- list_open plan (custom) ---")
        print(self.list_open_custom[0].plan_text)
        if self.list_open_prepared[-1].shape != self.list_open_custom[0].shape:
            print("\n--- list_open plan (as prepared) ---")
            print(self.list_open_prepared[-1].plan_text)
        for word, matches, explained in self.search_examples:
            print(
                f"\n--- search plan for {word!r} ({matches:,} matching tickets): "
                f"{explained.execution_ms:.1f} ms ---"
            )
            print(explained.plan_text)
        print(f"\n--- slowest search as prepared: {self.search_prepared.slowest.label} ---")
        print(self.search_prepared.slowest.plan_text)


async def explain_all(
    url: str,
    viewer_id: int,
    ticket_id: int,
    *,
    words: Sequence[str] = CONTENT_WORDS,
    repeats: int = 20,
    search_config: str = "simple",
) -> ExplainReport:
    queries = capture_queries(viewer_id, search_config)
    conn = await db.connect(url)
    try:
        list_open: CapturedQuery = queries["list_open"]
        list_custom = [await explain_custom(conn, "list_open", list_open) for _ in range(repeats)]
        prepared = Prepared(conn, "bench_list_open", list_open)
        await prepared.prepare()
        for _ in range(6):
            await prepared.execute(list_open.params)
        list_prepared = [
            await prepared.explain("list_open", list_open.params) for _ in range(repeats)
        ]

        get_custom = await explain_custom(conn, "get", queries["get"](ticket_id))

        search_custom = []
        for word in words:
            search_custom.append(await explain_custom(conn, word, queries["search"](word)))

        # As the service: one prepared statement per connection, reused for every word.
        shuffled = list(words)
        random.Random(7).shuffle(shuffled)
        template: CapturedQuery = queries["search"](shuffled[0])
        word_index = template.params.index(shuffled[0])
        searching = Prepared(conn, "bench_search", template)
        await searching.prepare()

        def params_for(word: str) -> list[Any]:
            params = list(template.params)
            params[word_index] = word
            return params

        for word in shuffled[:6]:
            await searching.execute(params_for(word))
        search_prepared = [await searching.explain(w, params_for(w)) for w in words]

        # Examples: the most common, a middling and the rarest word, by matching tickets.
        counts = {}
        for word in (words[0], words[len(words) // 2], words[-1]):
            counts[word] = await conn.fetchval(
                "SELECT count(*) FROM tickets WHERE search_public @@ "
                "websearch_to_tsquery($1::regconfig, $2)",
                search_config,
                word,
            )
        by_word = {e.label: e for e in search_custom}
        examples = [(w, counts[w], by_word[w]) for w in counts]

        reference = await conn.fetchval(
            "SELECT substring(description from 'rif[0-9]{6}') FROM tickets "
            "WHERE description LIKE '%Rif. rif%' LIMIT 1"
        )
        edge_queries = [q for q in (reference, "xyzzyplugh") if q]
        edge_queries += [f"{words[0]} {words[-1]}", f"{words[1]} -{words[0]}"]
        edges = []
        for query in edge_queries:
            matches = await conn.fetchval(
                "SELECT count(*) FROM tickets WHERE search_public @@ "
                "websearch_to_tsquery($1::regconfig, $2)",
                search_config,
                query,
            )
            custom = await explain_custom(conn, query, queries["search"](query))
            prepared_run = await searching.explain(query, params_for(query))
            if custom.rows < 50:
                # The service's next step for a word rare among recent tickets: its
                # matches from the GIN index (sequential scans off, as the service does).
                await conn.execute("BEGIN; SET LOCAL enable_seqscan = off")
                index = await explain_custom(conn, query, queries["search_index"](query))
                await conn.execute("COMMIT")
                for run in (custom, prepared_run):
                    run.execution_ms += index.execution_ms
                    run.planning_ms += index.planning_ms
                    run.shape += " then " + index.shape
            edges.append((query, int(matches), custom, prepared_run))
        await conn.execute("DEALLOCATE ALL")
    finally:
        await conn.close()
    return ExplainReport(
        list_open_custom=list_custom,
        list_open_prepared=list_prepared,
        get_custom=get_custom,
        search_custom=_distribution("search, custom plan", search_custom),
        search_prepared=_distribution("search, as prepared", search_prepared),
        search_examples=examples,
        search_edges=edges,
    )
