"""`python -m bench.sla_calendar`: CPU cost of a ticket's SLA due times on business calendars.

Pure CPU, no database: what the SLA reaction spends per ticket when it computes the
three due times (first response, next response, resolution) with `app/sla/calendar.py`.
Each scenario computes them for N tickets filed at random minutes spread over the next
twelve months (so a year of months is compiled and cached, as a long-running process
would have), and reports the CPU time per ticket (`time.process_time` over the whole
batch, best of R repeats) and the per-ticket latency distribution (`perf_counter_ns`
around each ticket, from the best repeat).

Calendars:
- `rome`: Europe/Rome, Monday-Friday 09:00-12:30 and 14:00-18:00, the ten Italian
  yearly holidays and Easter Monday 2026-2030 as single dates;
- `new_york`: America/New_York, Monday-Friday 08:00-20:00, Saturday 09:00-13:00,
  three yearly holidays and two single dates;
- `24/7`: around the clock.

Targets per priority are the ones `app/sla/policy.py` hard-codes today, with the next
response equal to the first response. `mixed` draws the priority per ticket the way
the ticket loader does (roughly 5% critical, 20% high, 45% medium, 25% low, 5% planning).

Also measured: the same plus the sentence stating the answer time to the customer
(what a new ticket's acknowledgement adds); a cold calendar (a new version: compile and
the first ticket's due times, zone transitions already known to the process); a cold
zone (the same, with the process-wide zone transition cache emptied); and
`business_time_between` over spans of up to a week (what a pause costs on resume).

Target (issue 14): computing a ticket's due times under 0.2 ms of CPU, including a
calendar with holidays.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from app.sla.answer_time import stated_answer_time
from app.sla.calendar import (
    ALWAYS_OPEN,
    BusinessCalendar,
    CalendarSpec,
    OpeningHours,
    compile_calendar,
)
from app.sla.zone_offsets import transitions

TARGET_MS = 0.2
# first response, next response, resolution (minutes), per priority
TARGETS = {
    "critical": (15, 15, 4 * 60),
    "high": (60, 60, 8 * 60),
    "medium": (4 * 60, 4 * 60, 24 * 60),
    "low": (8 * 60, 8 * 60, 3 * 24 * 60),
    "planning": (24 * 60, 24 * 60, 14 * 24 * 60),
}
MIX = {"critical": 5, "high": 20, "medium": 45, "low": 25, "planning": 5}
ITALIAN_HOLIDAYS = [
    (1, 1),
    (1, 6),
    (4, 25),
    (5, 1),
    (6, 2),
    (8, 15),
    (11, 1),
    (12, 8),
    (12, 25),
    (12, 26),
]
EASTER_MONDAYS = [
    date(2026, 4, 6),
    date(2027, 3, 29),
    date(2028, 4, 17),
    date(2029, 4, 2),
    date(2030, 4, 22),
]


def rome_spec() -> CalendarSpec:
    return CalendarSpec(
        time_zone="Europe/Rome",
        hours=tuple(
            OpeningHours(day, opens, closes)
            for day in range(5)
            for opens, closes in ((9 * 60, 12 * 60 + 30), (14 * 60, 18 * 60))
        ),
        holidays=frozenset(EASTER_MONDAYS),
        yearly_holidays=frozenset(ITALIAN_HOLIDAYS),
    )


def new_york_spec() -> CalendarSpec:
    return CalendarSpec(
        time_zone="America/New_York",
        hours=(
            *(OpeningHours(day, 8 * 60, 20 * 60) for day in range(5)),
            OpeningHours(5, 9 * 60, 13 * 60),
        ),
        holidays=frozenset({date(2026, 11, 26), date(2027, 11, 25)}),
        yearly_holidays=frozenset({(1, 1), (7, 4), (12, 25)}),
    )


@dataclass
class Result:
    name: str
    tickets: int
    cpu_us: float  # per ticket, best repeat
    p50_us: float
    p99_us: float
    max_us: float
    once: bool = False  # a one-off cost (a new calendar version, a new zone), not per ticket

    def line(self) -> str:
        met = "yes" if self.cpu_us / 1000 < TARGET_MS else "NO"
        if self.once:
            met = "(once)"
        return (
            f"| {self.name} | {self.tickets:,} | {self.cpu_us:.1f} | {self.p50_us:.1f} | "
            f"{self.p99_us:.1f} | {self.max_us:.1f} | {met} |"
        )


def _tickets(count: int, seed: int, priority: str | None) -> list[tuple[datetime, str]]:
    rng = random.Random(seed)
    origin = datetime(2026, 12, 1, tzinfo=UTC)
    names, weights = list(MIX), list(MIX.values())
    return [
        (
            origin + timedelta(minutes=rng.randrange(365 * 24 * 60)),
            priority or rng.choices(names, weights)[0],
        )
        for _ in range(count)
    ]


def _due_times(calendar: BusinessCalendar, created: datetime, priority: str) -> list[datetime]:
    return [
        calendar.add_business_time(created, timedelta(minutes=minutes))
        for minutes in TARGETS[priority]
    ]


def _measure(
    name: str,
    tickets: list[tuple[datetime, str]],
    work: Callable[[datetime, str], object],
    repeat: int,
) -> Result:
    for created, priority in tickets:  # warm: every month compiled, as in steady state
        work(created, priority)
    best_cpu, best_samples = float("inf"), [0]
    for _ in range(repeat):
        samples = []
        gc.disable()
        cpu = time.process_time()
        for created, priority in tickets:
            started = time.perf_counter_ns()
            work(created, priority)
            samples.append(time.perf_counter_ns() - started)
        cpu = time.process_time() - cpu
        gc.enable()
        if cpu < best_cpu:
            best_cpu, best_samples = cpu, sorted(samples)
    count = len(tickets)
    return Result(
        name,
        count,
        best_cpu / count * 1e6,
        best_samples[count // 2] / 1000,
        best_samples[min(count - 1, int(count * 0.99))] / 1000,
        best_samples[-1] / 1000,
    )


def _cold(name: str, spec: CalendarSpec, count: int, clear_zone: bool) -> Result:
    tickets = _tickets(count, seed=7, priority=None)
    samples = []
    cpu = 0.0
    for created, priority in tickets:
        if clear_zone:
            transitions.cache_clear()
        started_cpu, started = time.process_time(), time.perf_counter_ns()
        _due_times(compile_calendar(spec), created, priority)
        samples.append(time.perf_counter_ns() - started)
        cpu += time.process_time() - started_cpu
    samples.sort()
    return Result(
        name,
        count,
        cpu / count * 1e6,
        samples[count // 2] / 1000,
        samples[min(count - 1, int(count * 0.99))] / 1000,
        samples[-1] / 1000,
        once=True,
    )


def _between(calendar: BusinessCalendar, count: int, repeat: int) -> Result:
    rng = random.Random(11)
    pairs = [
        (created, created + timedelta(minutes=rng.randrange(7 * 24 * 60)))
        for created, _ in _tickets(count, seed=11, priority="medium")
    ]
    by_start = dict(pairs)
    return _measure(
        "rome: business_time_between (pause of up to a week)",
        [(start, "medium") for start, _ in pairs],
        lambda start, _: calendar.business_time_between(start, by_start[start]),
        repeat,
    )


def machine() -> str:
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout  # noqa: S607
    except OSError:
        lscpu = ""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in lscpu.splitlines()
            if line.startswith("Model name")
        ),
        "?",
    )
    with open("/proc/loadavg") as loadavg:
        load = loadavg.read().split()[:3]
    return (
        f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, "
        f"load average {' '.join(load)} when it started"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.sla_calendar",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--tickets", type=int, default=20_000, help="per scenario")
    parser.add_argument("--repeat", type=int, default=5, help="best of this many runs")
    parser.add_argument("--cold", type=int, default=200, help="cold compiles measured")
    args = parser.parse_args()
    print(machine())
    rome, new_york = compile_calendar(rome_spec()), compile_calendar(new_york_spec())
    results = []
    for label, calendar in (("rome", rome), ("new_york", new_york), ("24/7", ALWAYS_OPEN)):
        for priority in (None, "medium", "planning") if label == "rome" else (None,):
            tickets = _tickets(args.tickets, seed=1, priority=priority)
            name = f"{label}: 3 due times, {priority or 'mixed'} priority"
            result = _measure(
                name, tickets, lambda c, p, cal=calendar: _due_times(cal, c, p), args.repeat
            )
            results.append(result)
            print(result.line(), flush=True)
    results.append(
        _measure(
            "rome: 3 due times + the stated answer sentence (Italian, Babel names)",
            _tickets(args.tickets, seed=3, priority=None),
            lambda created, priority: stated_answer_time(
                _due_times(rome, created, priority)[0], created, rome, "it", "Europe/Rome"
            ),
            args.repeat,
        )
    )
    print(results[-1].line(), flush=True)
    results.append(_between(rome, args.tickets, args.repeat))
    print(results[-1].line(), flush=True)
    for name, clear in (
        ("rome: cold calendar (new version), 3 due times", False),
        ("rome: cold zone and calendar, 3 due times", True),
    ):
        results.append(_cold(name, rome_spec(), args.cold, clear))
        print(results[-1].line(), flush=True)
    print("\n| Scenario | Tickets | CPU us/ticket | p50 us | p99 us | max us | < 0.2 ms |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for result in results:
        print(result.line())


if __name__ == "__main__":
    main()
