"""`python -m bench.ab`: two commits side by side, in the same run, on the same data.

A change that must not slow the service down (the write path's reactions, say) is
measured against the commit before it, alternately, so that a noisy machine weighs on
both the same way:

1. each commit is checked out in `var/bench/ab/<commit>` with its own virtualenv (uv
   sync, from the lock file of that commit);
2. both must have the same migrations (the same schema), so one database serves both:
   `helpdesk_ab` next to the benchmark database, migrated and loaded once by the
   "before" checkout's own loader;
3. every round starts the "before" server, runs the HTTP scenarios (create, get, status
   at 32 clients by default, with this checkout's load generator, the Python engine on
   both sides), stops it, then does the same for "after"; the order flips each round;
4. every round also runs the 2,000-ticket handover (`bench.handover`, identical in the
   commits compared) with each commit's server;
5. prints the medians over the rounds, side by side, with the change in percent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench import db, http_load, server
from bench.__main__ import SERVER_ENV, _bench_people, _issue_tokens, _wait_for_quiet

AB_DIR = server.REPO / "var" / "bench" / "ab"
UV = server.REPO / ".tools" / "bin" / "uv"
HANDOVER = re.compile(r"handed over (\d+)/(\d+) in ([\d.]+) s; GET p99 ([\d.]+) ms during")


@dataclass
class Side:
    name: str
    commit: str
    path: Path
    figures: dict[str, list[dict[str, float]]] = field(default_factory=dict)

    @property
    def helpdesk(self) -> str:
        return str(self.path / ".venv" / "bin" / "helpdesk")

    @property
    def python(self) -> str:
        return str(self.path / ".venv" / "bin" / "python")

    def record(self, scenario: str, figures: dict[str, float]) -> None:
        self.figures.setdefault(scenario, []).append(figures)


def _git(*args: str) -> str:
    return subprocess.run(  # noqa: S603 - git from PATH, as a developer runs it
        ["git", *args],  # noqa: S607
        cwd=server.REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def checkout(name: str, ref: str) -> Side:
    commit = _git("rev-parse", "--short=10", ref)
    path = AB_DIR / commit
    if not path.exists():
        AB_DIR.mkdir(parents=True, exist_ok=True)
        _git("worktree", "add", "--detach", str(path), commit)
    subprocess.run([str(UV), "sync", "--frozen", "--quiet"], cwd=path, check=True)  # noqa: S603
    return Side(name, commit, path)


def database_url() -> str:
    configured = os.environ.get("HELPDESK_AB_DATABASE_URL")
    return configured or db.with_database(db.bench_database_url(), "helpdesk_ab")


def load(before: Side, url: str, tickets: int) -> None:
    asyncio.run(db.ensure_database(url))
    server.migrate(url, before.helpdesk)
    subprocess.run(  # noqa: S603
        [before.python, "-m", "bench", "load", "--tickets", str(tickets)],
        cwd=before.path,
        env={**os.environ, "HELPDESK_BENCH_DATABASE_URL": url},
        check=True,
    )


def http_round(side: Side, url: str, plan: list[tuple[str, int]], args: argparse.Namespace) -> None:
    people = asyncio.run(_bench_people(url))
    admin = server.create_admin(
        url, f"ab-{side.commit}-{time.time_ns()}@bench.example.com", "AB", side.helpdesk
    )
    with server.Server(url, port=args.port, env=dict(SERVER_ENV), command=side.helpdesk) as app:
        target = http_load.Target(
            base_url=app.base_url,
            tokens=_issue_tokens(app.base_url, admin, people["agents"]),
            ticket_ids=tuple(people["ticket_ids"]),
            requester_ids=people["customers"],
            team_ids=people["teams"],
            status_ids=people["open_ids"],
        )
        for scenario, concurrency in plan:
            _wait_for_quiet(args.quiet_wait, args.quiet_threshold)
            result = http_load.run_scenario(
                target,
                scenario,
                concurrency=concurrency,
                duration=args.duration,
                warmup=args.warmup,
                engine="python",
            )
            print(f"  {side.name:<6} {result.line()}")
            side.record(
                f"{scenario}:{concurrency}",
                {"rps": result.ok_rps, **result.latencies_ms, "errors": float(result.errors)},
            )


def handover_round(side: Side, tickets: int) -> None:
    done = subprocess.run(  # noqa: S603
        [side.python, "-m", "bench.handover", "--no-report", "--tickets", str(tickets)],
        cwd=side.path,
        check=True,
        capture_output=True,
        text=True,
    )
    match = HANDOVER.search(done.stdout)
    if match is None:
        raise RuntimeError(f"no handover result from {side.name}:\n{done.stdout[-2000:]}")
    handed, asked, seconds, p99 = match.groups()
    print(f"  {side.name:<6} handover {handed}/{asked} in {seconds} s; GET p99 {p99} ms")
    side.record("handover", {"seconds": float(seconds), "get_p99": float(p99)})


def medians(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def compare(before: Side, after: Side) -> list[str]:
    lines = [
        f"| scenario | figure | before ({before.commit}) | after ({after.commit}) | change |",
        "|---|---|---:|---:|---:|",
    ]
    for scenario, runs in before.figures.items():
        a, b = medians(runs), medians(after.figures[scenario])
        keys = ["seconds", "get_p99"] if scenario == "handover" else ["rps", "p50", "p99"]
        for key in keys:
            change = (b[key] - a[key]) / a[key] * 100 if a[key] else 0.0
            lines.append(f"| {scenario} | {key} | {a[key]:.1f} | {b[key]:.1f} | {change:+.1f}% |")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__)
    parser.add_argument("--before", required=True, help="a commit or branch")
    parser.add_argument("--after", default="HEAD")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tickets", type=int, default=200_000, help="loaded once, both sides")
    parser.add_argument("--plan", type=str, default="create:32,get:32,status:32")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--handover-tickets", type=int, default=2000, help="0 to skip")
    parser.add_argument("--port", type=int, default=8767)
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--quiet-wait", type=float, default=60.0)
    parser.add_argument("--quiet-threshold", type=float, default=0.5)
    args = parser.parse_args(argv)
    plan = [(s, int(c)) for s, _, c in (p.partition(":") for p in args.plan.split(","))]

    before, after = checkout("before", args.before), checkout("after", args.after)
    if _git("diff", "--stat", before.commit, after.commit, "--", "migrations"):
        raise SystemExit(
            "the two commits have different migrations: one database cannot serve both"
        )
    url = database_url()
    if not args.skip_load:
        load(before, url, args.tickets)
    started = datetime.now(UTC)
    for number in range(args.rounds):
        order = (before, after) if number % 2 == 0 else (after, before)
        print(f"round {number + 1}/{args.rounds}: {order[0].name} first")
        for side in order:
            http_round(side, url, plan, args)
        if args.handover_tickets:
            for side in order:
                handover_round(side, args.handover_tickets)
    print(
        f"\nmedians of {args.rounds} rounds, started {started.isoformat(timespec='seconds')}, "
        f"load now {os.getloadavg()[0]:.1f}"
    )
    print("\n".join(compare(before, after)))
    out = server.LOG_DIR / f"ab-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(
        json.dumps(
            {
                "argv": sys.argv,
                "started": started.isoformat(),
                "before": {"commit": before.commit, "figures": before.figures},
                "after": {"commit": after.commit, "figures": after.figures},
            },
            indent=2,
        )
    )
    print(f"saved {out}")


if __name__ == "__main__":
    main()
