"""A closed-loop HTTP load generator for the ticket endpoints.

`python -m bench http --base-url URL --token T [--token T2 ...] --scenario get
--concurrency 32 --duration 20`

Scenarios:

- `create`:    POST /api/v1/tickets as an agent, naming a random customer as requester;
- `get`:       GET /api/v1/tickets/{id} for a random existing id;
- `list_open`: GET /api/v1/tickets?status=open (the first page, 50 tickets);
- `search`:    GET /api/v1/tickets?q=<a random word from bench/words.py>.

Each of `concurrency` clients sends its next request as soon as the previous one is
answered (closed loop). Requests started during the warm-up are not counted. Reported:
requests/s, p50/p95/p99/max latency and the errors (any non-2xx, or a transport
failure), with a sample of each kind.

Two engines:

- `wrk` (default when the `wrk` binary is installed): C, with a generated Lua script
  for the random ids, words and bodies. It costs the shared CPU far less per request
  than a Python client, which matters when client and server share two cores.
- `python`: asyncio + httpx.AsyncClient (one keep-alive connection per client, uvloop
  when available). No external binary; the fallback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.words import (
    CATEGORIES,
    CONTENT_WORDS,
    REFERENCE_SHARE,
    TAGS,
    TextMaker,
    zipf_cum_weights,
)

SCENARIOS = ("create", "get", "list_open", "search", "status")
API = "/api/v1"


@dataclass
class Target:
    """What the scenarios pick from: who may call, which tickets and customers exist."""

    base_url: str
    tokens: list[str]
    ticket_ids: tuple[int, int] | list[int] = (1, 1)  # a (min, max) range, or explicit ids
    requester_ids: list[int] = field(default_factory=list)
    team_ids: list[int] = field(default_factory=list)
    words: list[str] = field(default_factory=lambda: list(CONTENT_WORDS))
    # For `status`: open tickets, each client toggling its own share open <-> pending.
    status_ids: list[int] = field(default_factory=list)


@dataclass
class Result:
    scenario: str
    engine: str
    concurrency: int
    duration: float
    requests: int
    errors: int
    latencies_ms: dict[str, float]
    statuses: dict[str, int] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)  # seconds of CPU per party
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.duration if self.duration else 0.0

    @property
    def ok_rps(self) -> float:
        return (self.requests - self.errors) / self.duration if self.duration else 0.0

    def line(self) -> str:
        lat = self.latencies_ms
        return (
            f"{self.scenario:<10} c={self.concurrency:<3} {self.rps:8.1f} req/s  "
            f"p50 {lat['p50']:7.1f} ms  p95 {lat['p95']:7.1f} ms  p99 {lat['p99']:7.1f} ms  "
            f"max {lat['max']:7.1f} ms  errors {self.errors}"
        )

    def print(self) -> None:
        print(self.line())
        if self.errors:
            print(f"  statuses: {self.statuses}")
            for sample in self.error_samples[:5]:
                print(f"  error sample: {sample}")


def percentiles(latencies_ms: Sequence[float]) -> dict[str, float]:
    if not latencies_ms:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0, "mean": 0.0}
    ordered = sorted(latencies_ms)

    def rank(p: float) -> float:  # nearest rank
        index = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
        return ordered[index]

    return {
        "p50": rank(50),
        "p95": rank(95),
        "p99": rank(99),
        "max": ordered[-1],
        "mean": sum(ordered) / len(ordered),
    }


# --------------------------------------------------------------------------------------
# Requests, as the Python engine builds them


class RequestMaker:
    def __init__(
        self, target: Target, scenario: str, seed: int, lane: int = 0, lanes: int = 1
    ) -> None:
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {scenario!r}; one of {', '.join(SCENARIOS)}")
        if scenario == "create" and not target.requester_ids:
            raise ValueError("the create scenario needs requester ids (customers)")
        if scenario == "status" and len(target.status_ids) < lanes:
            raise ValueError("the status scenario needs an open ticket per client")
        # Disjoint shares: no two clients wait on one ticket's row lock, and each knows
        # the status its tickets are in, so every request is an allowed move.
        self.toggling = target.status_ids[lane::lanes]
        self.pending: set[int] = set()
        self.turn = 0
        self.target = target
        self.scenario = scenario
        self.rng = random.Random(seed)
        self.text = TextMaker(self.rng)
        self.headers = [
            {"Authorization": f"Bearer {t}", "Content-Type": "application/json"}
            for t in target.tokens
        ]

    def ticket_id(self) -> int:
        ids = self.target.ticket_ids
        if isinstance(ids, tuple):
            return self.rng.randint(ids[0], ids[1])
        return self.rng.choice(ids)

    def next(self) -> tuple[str, str, bytes | None, dict[str, str]]:
        rng = self.rng
        headers = rng.choice(self.headers)
        match self.scenario:
            case "get":
                return "GET", f"{API}/tickets/{self.ticket_id()}", None, headers
            case "list_open":
                return "GET", f"{API}/tickets?status=open", None, headers
            case "search":
                return "GET", f"{API}/tickets?q={rng.choice(self.target.words)}", None, headers
            case "status":
                return "POST", *self.status_change(), headers
            case _:
                return "POST", f"{API}/tickets", json.dumps(self.create_body()).encode(), headers

    def status_change(self) -> tuple[str, bytes]:
        ticket = self.toggling[self.turn % len(self.toggling)]
        self.turn += 1
        if ticket in self.pending:
            self.pending.discard(ticket)
            to = "open"
        else:
            self.pending.add(ticket)
            to = "pending"
        return f"{API}/tickets/{ticket}/status", json.dumps({"status": to}).encode()

    def create_body(self) -> dict[str, Any]:
        rng = self.rng
        body: dict[str, Any] = {
            "subject": self.text.subject(),
            "description": self.text.description(),
            "requester_id": rng.choice(self.target.requester_ids),
            "channel": rng.choice(["email", "phone", "web", "chat"]),
            "urgency": rng.choice(["low", "medium", "medium", "high"]),
            "impact": rng.choice(["low", "medium", "medium", "high"]),
            "category": rng.choice(CATEGORIES),
            "tags": rng.sample(TAGS, rng.randint(0, 3)),
        }
        if self.target.team_ids and rng.random() < 0.7:
            body["team_id"] = rng.choice(self.target.team_ids)
        return body


# --------------------------------------------------------------------------------------
# CPU accounting: who used the two cores during a run


def _clock_ticks() -> int:
    return os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int) -> float:
    """utime + stime of a process and its waited-for children, in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(f) for f in fields[11:15]) / _clock_ticks()


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _parent(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("PPid:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def postmaster_of(backend_pid: int) -> int | None:
    """The postmaster of a backend (`SELECT pg_backend_pid()`), when it runs on this host."""
    return _parent(backend_pid)


def _machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])
    ticks = _clock_ticks()
    return (total - idle) / ticks, total / ticks


def machine_busy_share(seconds: float = 1.0) -> float:
    """How busy the machine's CPUs are over the next `seconds` (0..1)."""
    busy0, total0 = _machine_busy()
    time.sleep(seconds)
    busy1, total1 = _machine_busy()
    return (busy1 - busy0) / max(1e-9, total1 - total0)


class CpuMeter:
    """CPU seconds used by the server, PostgreSQL, the load generator and everything else.

    The server is its supervisor and worker processes; PostgreSQL is every child of the
    benchmark cluster's postmaster (backends, WAL writer, checkpointer, autovacuum...).
    Processes that exit during the run lose their share to "other", which is the rest
    of the machine: other processes, when the machine is shared.
    """

    def __init__(self, server_pids: Sequence[int], postmaster_pid: int | None = None) -> None:
        self.server_pids = list(server_pids)
        self.postmaster_pid = postmaster_pid

    def _postgres(self) -> dict[int, float]:
        if self.postmaster_pid is None:
            return {}
        pids = [self.postmaster_pid, *_children(self.postmaster_pid)]
        return {pid: _proc_cpu(pid) for pid in pids}

    def _snapshot(self) -> dict[str, Any]:
        busy, total = _machine_busy()
        return {
            "busy": busy,
            "total": total,
            "server": sum(_proc_cpu(p) for p in self.server_pids),
            "postgres": self._postgres(),
            "generator": _proc_cpu(os.getpid()),
        }

    def start(self) -> None:
        self.before = self._snapshot()

    def stop(self, generator_child_cpu: float = 0.0) -> dict[str, float]:
        after = self._snapshot()
        before = self.before
        postgres = sum(
            cpu - before["postgres"].get(pid, 0.0) for pid, cpu in after["postgres"].items()
        )
        busy = after["busy"] - before["busy"]
        server = after["server"] - before["server"]
        generator = after["generator"] - before["generator"] + generator_child_cpu
        wall = (after["total"] - before["total"]) / (os.cpu_count() or 1)
        return {
            "wall": wall,
            "busy": busy,
            "server": server,
            "postgres": postgres,
            "generator": generator,
            "other": max(0.0, busy - server - postgres - generator),
        }


# --------------------------------------------------------------------------------------
# Python engine


async def _run_python(
    target: Target, scenario: str, concurrency: int, duration: float, warmup: float, seed: int
) -> tuple[int, int, list[float], Counter[str], list[str]]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    samples: dict[str, str] = {}
    errors = 0
    started = time.perf_counter()
    measure_from = started + warmup
    end = measure_from + duration

    async with httpx.AsyncClient(base_url=target.base_url, limits=limits, timeout=30.0) as client:

        async def client_loop(index: int) -> None:
            nonlocal errors
            maker = RequestMaker(target, scenario, seed * 1000 + index, index, concurrency)
            perf = time.perf_counter
            while True:
                t0 = perf()
                if t0 >= end:
                    return
                method, url, body, headers = maker.next()
                try:
                    response = await client.request(method, url, content=body, headers=headers)
                    status = response.status_code
                    detail = response.text[:300]
                except httpx.HTTPError as exc:
                    status, detail = 0, f"{type(exc).__name__}: {exc}"
                t1 = perf()
                if t0 < measure_from:
                    continue
                latencies.append((t1 - t0) * 1000)
                statuses[str(status)] += 1
                if not 200 <= status < 300:
                    errors += 1
                    samples.setdefault(str(status), f"{status} {method} {url}: {detail}")

        await asyncio.gather(*(client_loop(i) for i in range(concurrency)))
    return len(latencies), errors, latencies, statuses, list(samples.values())


# --------------------------------------------------------------------------------------
# wrk engine

_LUA = r"""
local scenario = %(scenario)s
local tokens = %(tokens)s
local words = %(words)s
local text_words = %(text_words)s
local text_cum = %(text_cum)s
local subject_cum = %(subject_cum)s
local requesters = %(requesters)s
local teams = %(teams)s
local categories = %(categories)s
local tags = %(tags)s
local id_min, id_max = %(id_min)d, %(id_max)d
local id_list = %(id_list)s

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

local function pick(list) return list[math.random(#list)] end

local function json_string(s)
  local escaped = s:gsub('[%%c"\\]', function(c) return string.format("\\u%%04x", c:byte()) end)
  return '"' .. escaped .. '"'
end

-- A word drawn with the Zipf-like weights of bench/words.py (binary search on the
-- cumulative weights), so tickets created here look like the loaded ones.
local function weighted(list, cum)
  local r = math.random() * cum[#cum]
  local lo, hi = 1, #cum
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if cum[mid] < r then lo = mid + 1 else hi = mid end
  end
  return list[lo]
end

local function sentence(min_words, max_words, list, cum)
  local n = math.random(min_words, max_words)
  local parts = {}
  for i = 1, n do parts[i] = weighted(list, cum) end
  return table.concat(parts, " ")
end

local headers_by_token = {}

function init(args)
  math.randomseed(%(seed)d + tid * 7919)
  errors = 0
  statuses = {}
  samples = {}
  for i, t in ipairs(tokens) do
    headers_by_token[i] = {
      ["Authorization"] = "Bearer " .. t, ["Content-Type"] = "application/json"
    }
  end
end

local function ticket_id()
  if #id_list > 0 then return pick(id_list) end
  return math.random(id_min, id_max)
end

local levels = {"low", "medium", "medium", "high"}
local channels = {"email", "phone", "web", "chat"}

function request()
  local headers = headers_by_token[math.random(#headers_by_token)]
  if scenario == "get" then
    return wrk.format("GET", "/api/v1/tickets/" .. ticket_id(), headers)
  elseif scenario == "list_open" then
    return wrk.format("GET", "/api/v1/tickets?status=open", headers)
  elseif scenario == "search" then
    return wrk.format("GET", "/api/v1/tickets?q=" .. pick(words), headers)
  end
  local tag_list = {}
  for i = 1, math.random(0, 3) do tag_list[#tag_list + 1] = json_string(pick(tags)) end
  local description = sentence(12, 90, text_words, text_cum) .. "."
  if math.random() < %(reference_share)f then
    description = description .. " Rif. rif" .. math.random(100000, 999999)
  end
  local body = '{"subject":' .. json_string(sentence(3, 9, words, subject_cum))
    .. ',"description":' .. json_string(description)
    .. ',"requester_id":' .. pick(requesters)
    .. ',"channel":"' .. pick(channels) .. '"'
    .. ',"urgency":"' .. pick(levels) .. '","impact":"' .. pick(levels) .. '"'
    .. ',"category":' .. json_string(pick(categories))
    .. ',"tags":[' .. table.concat(tag_list, ",") .. ']'
  if #teams > 0 and math.random() < 0.7 then body = body .. ',"team_id":' .. pick(teams) end
  body = body .. "}"
  return wrk.format("POST", "/api/v1/tickets", headers, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status < 200 or status > 299 then
    errors = errors + 1
    if samples[status] == nil then
      samples[status] = tostring(status) .. " " .. string.sub(body or "", 1, 300)
    end
  end
end

function done(summary, latency, requests)
  local errs = 0
  local status_counts = {}
  local sample_list = {}
  for _, t in ipairs(threads) do
    errs = errs + (t:get("errors") or 0)
    for k, v in pairs(t:get("statuses") or {}) do
      status_counts[k] = (status_counts[k] or 0) + v
    end
    for _, s in pairs(t:get("samples") or {}) do sample_list[#sample_list + 1] = json_string(s) end
  end
  local status_json = {}
  for k, v in pairs(status_counts) do status_json[#status_json + 1] = '"' .. k .. '":' .. v end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%%d,"duration_us":%%d,"non2xx":%%d,"connect":%%d,"read":%%d,'
    .. '"write":%%d,"timeout":%%d,"p50":%%d,"p95":%%d,"p99":%%d,"max":%%d,"mean":%%f,'
    .. '"statuses":{%%s},"samples":[%%s]}\n',
    summary.requests, summary.duration, errs, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    latency.mean, table.concat(status_json, ","), table.concat(sample_list, ",")))
end
"""


_TEXT = TextMaker(random.Random(0))


def _lua_value(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string of ASCII-safe text is a valid Lua string
    if isinstance(value, list | tuple):
        return "{" + ",".join(_lua_value(v) for v in value) + "}"
    return str(value)


def wrk_script(target: Target, scenario: str, seed: int) -> str:
    ids = target.ticket_ids
    id_min, id_max = ids if isinstance(ids, tuple) else (0, 0)
    return _LUA % {
        "scenario": _lua_value(scenario),
        "tokens": _lua_value(target.tokens),
        "words": _lua_value([w.encode("ascii", "ignore").decode() for w in target.words]),
        "text_words": _lua_value(_TEXT.words),
        "text_cum": _lua_value([round(c, 6) for c in _TEXT.cum]),
        "subject_cum": _lua_value([round(c, 6) for c in zipf_cum_weights(len(target.words))]),
        "reference_share": REFERENCE_SHARE,
        "requesters": _lua_value(target.requester_ids or [1]),
        "teams": _lua_value(target.team_ids),
        "categories": _lua_value(CATEGORIES),
        "tags": _lua_value(TAGS),
        "id_min": id_min,
        "id_max": id_max,
        "id_list": _lua_value([] if isinstance(ids, tuple) else list(ids)),
        "seed": seed,
    }


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def _run_wrk(
    target: Target, scenario: str, concurrency: int, duration: float, seed: int, threads: int
) -> tuple[dict[str, Any], float]:
    """One wrk run; returns its JSON summary and the CPU seconds wrk used."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(wrk_script(target, scenario, seed))
    try:
        command = [
            "wrk",
            f"-t{max(1, min(threads, concurrency))}",
            f"-c{concurrency}",
            f"-d{max(1, round(duration))}s",
            "--timeout",
            "30s",
            "-s",
            script.name,
            target.base_url,
        ]
        usage_before = os.times()
        done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        usage_after = os.times()
        child_cpu = (usage_after.children_user - usage_before.children_user) + (
            usage_after.children_system - usage_before.children_system
        )
        for line in done.stdout.splitlines():
            if line.startswith("WRKJSON "):
                return json.loads(line.removeprefix("WRKJSON ")), child_cpu
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout}\n{done.stderr}")
    finally:
        os.unlink(script.name)


# --------------------------------------------------------------------------------------


def run_scenario(
    target: Target,
    scenario: str,
    *,
    concurrency: int,
    duration: float,
    warmup: float = 3.0,
    engine: str = "auto",
    seed: int = 1,
    server_pids: Sequence[int] = (),
    postmaster_pid: int | None = None,
    wrk_threads: int = 2,
) -> Result:
    if engine == "auto":
        # wrk's script knows the read and create scenarios, not the status toggling.
        engine = "wrk" if wrk_available() and scenario != "status" else "python"
    if engine == "wrk" and scenario == "status":
        raise ValueError("the status scenario runs on the python engine")
    RequestMaker(target, scenario, seed, 0, concurrency)  # validates the scenario and inputs
    meter = CpuMeter(server_pids, postmaster_pid)
    if engine == "wrk":
        if warmup > 0:
            _run_wrk(target, scenario, concurrency, warmup, seed + 1, wrk_threads)
        meter.start()
        summary, child_cpu = _run_wrk(target, scenario, concurrency, duration, seed, wrk_threads)
        cpu = meter.stop(child_cpu)
        transport = sum(summary[k] for k in ("connect", "read", "write", "timeout"))
        errors = summary["non2xx"] + transport
        samples = list(summary["samples"])
        if transport:
            samples.append(
                "transport errors: "
                + ", ".join(f"{k} {summary[k]}" for k in ("connect", "read", "write", "timeout"))
            )
        return Result(
            scenario=scenario,
            engine="wrk",
            concurrency=concurrency,
            duration=summary["duration_us"] / 1e6,
            requests=summary["requests"],
            errors=errors,
            latencies_ms={
                "p50": summary["p50"] / 1000,
                "p95": summary["p95"] / 1000,
                "p99": summary["p99"] / 1000,
                "max": summary["max"] / 1000,
                "mean": summary["mean"] / 1000,
            },
            statuses={str(k): v for k, v in summary["statuses"].items()},
            error_samples=samples,
            cpu=cpu,
        )
    if engine != "python":
        raise ValueError(f"unknown engine {engine!r}")
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:  # pragma: no cover - uvloop is installed with uvicorn[standard]
        runner = asyncio.run
    # The meter starts with the client, so the warm-up is in the CPU figures; scale it out.
    meter.start()
    count, errors, latencies, statuses, samples = runner(
        _run_python(target, scenario, concurrency, duration, warmup, seed)
    )
    cpu = meter.stop()
    scale = duration / (duration + warmup)
    cpu = {k: v * scale for k, v in cpu.items()}
    return Result(
        scenario=scenario,
        engine="python",
        concurrency=concurrency,
        duration=duration,
        requests=count,
        errors=errors,
        latencies_ms=percentiles(latencies),
        statuses=dict(statuses),
        error_samples=samples,
        cpu=cpu,
    )


def discover(base_url: str, token: str) -> Target:
    """Ticket ids and customers to use, read through the API (for standalone runs)."""
    headers = {"Authorization": f"Bearer {token}"}
    ids: list[int] = []
    customers: list[int] = []
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
        cursor = None
        for _ in range(5):
            params: dict[str, Any] = {"limit": 200}
            if cursor:
                params["cursor"] = cursor
            page = client.get(f"{API}/tickets", params=params).raise_for_status().json()
            ids += [t["id"] for t in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        page = client.get(f"{API}/users", params={"role": "customer", "limit": 200})
        customers = [u["id"] for u in page.raise_for_status().json()["items"]]
    return Target(
        base_url=base_url, tokens=[token], ticket_ids=ids or (1, 1), requester_ids=customers
    )


def _id_range(text: str) -> tuple[int, int]:
    low, _, high = text.partition(":")
    return int(low), int(high or low)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base-url", default="http://127.0.0.1:8765")
    parser.add_argument(
        "--token", action="append", required=True, help="an agent token; repeat for several"
    )
    parser.add_argument("--scenario", choices=SCENARIOS, action="append", help="repeatable")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds measured")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds not measured")
    parser.add_argument("--engine", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--ids", type=_id_range, help="ticket ids for get, MIN:MAX")
    parser.add_argument("--requesters", type=_id_range, help="customer ids for create, MIN:MAX")
    parser.add_argument("--json", action="store_true", help="also print results as JSON")


def run(args: argparse.Namespace) -> list[Result]:
    target = discover(args.base_url, args.token[0])
    target.tokens = args.token
    if args.ids:
        target.ticket_ids = args.ids
    if args.requesters:
        low, high = args.requesters
        target.requester_ids = list(range(low, high + 1))
    results = []
    for scenario in args.scenario or list(SCENARIOS):
        result = run_scenario(
            target,
            scenario,
            concurrency=args.concurrency,
            duration=args.duration,
            warmup=args.warmup,
            engine=args.engine,
        )
        result.print()
        results.append(result)
    if args.json:
        print(json.dumps([r.__dict__ for r in results], indent=2))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.http_load", description=__doc__)
    add_arguments(parser)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
