"""A generated desk history with known answers: three months of tickets across teams,
channels and categories, each following one of a few paths whose figures are known
by construction (a one-touch resolution is an FCR, a reopened ticket is not, ...), and
a planted spike of one category in the last day.

The answers are added up here, path by path, from the generated times: they share
nothing with app/metrics/ nor with tests/metrics/recompute.py but the percentile
binning that defines "median" and "p90" (stats()), so the acceptance test fails if
either the desk or the recount is wrong.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tests.factories import Actor
from tests.metrics.recompute import Recounts

CHANNELS = ("email", "web", "phone")
# Each steady category with its own words, none shared with the spike's.
STEADY = {
    "billing": ("Invoice question", "Charged for the wrong plan."),
    "access": ("Password reset", "Cannot sign in to my account."),
    "shipping": ("Parcel late", "My order has not arrived."),
}
SPIKE_CATEGORY = "outage"
SPIKE = ("Router outage downtown", "The router lost its uplink.")
SPIKE_TICKETS = 8
STEADY_TICKETS = 300
DAYS = 90
PATHS = ("one_touch", "dialogue", "reopened", "open", "untouched")
WEIGHTS = (40, 20, 15, 15, 10)
LONGEST_PATH = timedelta(days=3)


@dataclass
class Known:
    """The answers, in the recount's shape, and the breakdowns the summary gives."""

    figures: Recounts = field(default_factory=Recounts)
    complaints_by_category: dict[str, int] = field(default_factory=dict)
    suggestions_by_category: dict[str, int] = field(default_factory=dict)
    handovers_by_reason: dict[str, int] = field(default_factory=dict)


@dataclass
class History:
    tickets: list[dict[str, Any]]
    known: Known
    start: datetime
    spike_external_ids: list[str]


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


class _Ticket:
    """One ticket being written: its steps, and its answers added up as it goes."""

    def __init__(self, known: Known, team: int, created: datetime, category: str) -> None:
        self.known, self.team, self.created, self.category = known, team, created, category
        self.owner: Actor | None = None
        self.now = created
        self.steps: list[dict[str, Any]] = []
        self.figures = known.figures
        self.figures.add(team, None, "created")
        self.resolved_once = False
        self.survey_open = False

    def _step(self, after: int, **step: Any) -> None:
        self.now += timedelta(seconds=after)
        self.steps.append({"at": _iso(self.now), **step})

    def _secs(self) -> int:
        return int((self.now - self.created).total_seconds())

    def _owner_id(self) -> int | None:
        return None if self.owner is None else self.owner.id

    def assign(self, after: int, owner: Actor) -> None:
        if self.owner is not None:
            self.figures.add(self.team, self.owner.id, "handovers")
            self.known.handovers_by_reason["manual"] = (
                self.known.handovers_by_reason.get("manual", 0) + 1
            )
        self._step(after, type="assign", owner=owner.email, by=owner.email)
        self.owner = owner

    def reply(self, after: int, *, first: bool, waited_since: datetime | None = None) -> None:
        assert self.owner is not None
        self._step(after, type="message", by=self.owner.email, body="Looking into it.")
        if first:
            self.figures.time(self.team, self.owner.id, "frt", self._secs())
        elif waited_since is not None:
            waited = int((self.now - waited_since).total_seconds())
            self.figures.time(self.team, self.owner.id, "nrt", waited)

    def customer_writes(self, after: int) -> datetime:
        self._step(after, type="message", body="Any news?")
        return self.now

    def resolve(self, after: int) -> None:
        assert self.owner is not None
        self._step(after, type="status", status="resolved", by=self.owner.email)
        self.figures.add(self.team, self.owner.id, "resolved")
        self.figures.add(self.team, self.owner.id, "surveys")
        self.figures.total.handled[self.owner.id] += 1
        if not self.resolved_once:
            self.resolved_once = True
            self.figures.add(self.team, self.owner.id, "first_resolved")
            self.figures.add(self.team, self.owner.id, "sla_ok")
            self.figures.time(self.team, self.owner.id, "ttr", self._secs())
        self.survey_open = True

    def rate(self, after: int, rating: int) -> None:
        assert self.survey_open
        self._step(after, type="rating", rating=rating)
        self.figures.add(self.team, self._owner_id(), "csat_answered")
        self.figures.add(self.team, self._owner_id(), "csat_positive", 1 if rating >= 4 else 0)
        self.survey_open = False

    def status(self, after: int, to: str, by: str | None) -> None:
        self._step(after, type="status", status=to, by=by)

    def say(self, after: int, kind: str) -> None:
        self._step(after, type=kind, body=f"A {kind} about {self.category}.")
        self.figures.add(self.team, self._owner_id(), f"{kind}s")
        counts = getattr(self.known, f"{kind}s_by_category")
        counts[self.category] = counts.get(self.category, 0) + 1


def _walk(rng: random.Random, t: _Ticket, path: str, agents: list[Actor], customer: str) -> None:
    """The steps of one path, and their answers (see the module doc)."""
    if path == "untouched":
        t.figures.add(t.team, None, "backlog")
        return
    first = rng.choice(agents)
    t.assign(rng.randint(60, 1800), first)
    t.reply(rng.randint(300, 20_000), first=True)
    if path == "open":
        t.status(rng.randint(60, 3600), "pending", first.email)
        t.figures.add(t.team, first.id, "backlog")
        return
    if path == "dialogue":
        waited = t.customer_writes(rng.randint(600, 7200))
        t.reply(rng.randint(300, 9000), first=False, waited_since=waited)
    t.resolve(rng.randint(600, 30_000))
    if rng.random() < 0.6:
        t.rate(rng.randint(60, 7200), rng.randint(1, 5))
    if path == "reopened":
        t.status(rng.randint(3600, 86_400), "open", customer)
        t.figures.add(t.team, first.id, "reopens")
        t.figures.add(t.team, first.id, "reopened")
        t.assign(rng.randint(60, 3600), next(a for a in agents if a is not first))
        t.reply(rng.randint(300, 7200), first=False)
        t.resolve(rng.randint(600, 20_000))
        if rng.random() < 0.5:
            t.rate(rng.randint(60, 7200), rng.randint(1, 5))
    elif path == "one_touch":
        t.figures.add(t.team, first.id, "fcr")
    if rng.random() < 0.3:
        t.status(rng.randint(86_400, 2 * 86_400), "closed", t.owner.email if t.owner else None)
    if rng.random() < 0.1:
        t.say(rng.randint(60, 3600), "complaint")
    if rng.random() < 0.1:
        t.say(rng.randint(60, 3600), "suggestion")


def generate(now: datetime, teams: dict[int, list[Actor]], seed: int = 15) -> History:
    """`STEADY_TICKETS` evenly spread over `DAYS` up to `now` (categories in turn, so
    none rises), then `SPIKE_TICKETS` of a new category in the last day."""
    rng = random.Random(seed)
    known = Known()
    start = now - timedelta(days=DAYS)
    spacing = (timedelta(days=DAYS) - timedelta(hours=3)) / STEADY_TICKETS
    team_ids = sorted(teams)
    tickets: list[dict[str, Any]] = []
    categories = list(STEADY)

    def add(n: int, created: datetime, category: str, text: tuple[str, str], path: str) -> str:
        team = rng.choice(team_ids)
        customer = f"customer{rng.randint(1, 40)}@customers.example"
        if created + LONGEST_PATH > now:
            path = "untouched"  # no step of a recent ticket may lie in the future
        ticket = _Ticket(known, team, created, category)
        _walk(rng, ticket, path, teams[team], customer)
        external_id = f"hist-{n}"
        tickets.append(
            {
                "external_id": external_id,
                "subject": text[0],
                "description": text[1],
                "created_at": _iso(created),
                "requester": {"email": customer},
                "channel": rng.choice(CHANNELS),
                "category": category,
                "team_id": team,
                "steps": ticket.steps,
            }
        )
        return external_id

    for n in range(STEADY_TICKETS):
        category = categories[n % len(categories)]
        created = start + spacing * n
        add(n, created, category, STEADY[category], rng.choices(PATHS, WEIGHTS)[0])
    spike = [
        add(STEADY_TICKETS + k, now - timedelta(hours=20 - 2 * k), SPIKE_CATEGORY, SPIKE, "")
        for k in range(SPIKE_TICKETS)
    ]
    return History(tickets, known, start, spike)
