"""What the metrics endpoints answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import to_json

from app.metrics.definitions import Durations, rate


class Interval(StrEnum):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class GroupBy(StrEnum):
    CHANNEL = "channel"
    CATEGORY = "category"
    TEAM = "team"
    AGENT = "agent"
    PRIORITY = "priority"
    TAG = "tag"


class Metric(StrEnum):
    CREATED = "created"
    RESOLVED = "resolved"
    BACKLOG = "backlog"
    FIRST_RESPONSE = "first_response_time"
    NEXT_RESPONSE = "next_response_time"
    TIME_TO_RESOLVE = "time_to_resolve"
    FCR = "fcr_rate"
    REOPEN = "reopen_rate"
    CSAT = "csat"
    SLA = "sla_compliance"
    BREACHES = "sla_breaches"
    HANDOVERS = "handovers"
    COMPLAINTS = "complaints"
    SUGGESTIONS = "suggestions"


class DurationStats(BaseModel):
    """Seconds of business time on the ticket's SLA calendar (wall-clock around the
    clock): how many, mean, median and p90 (see docs/metrics.md)."""

    count: int
    mean: float | None
    median: int | None
    p90: int | None


class Share(BaseModel):
    count: int
    of: int
    rate: float | None


class Csat(BaseModel):
    answered: int
    positive: int
    rate: float | None
    surveys_sent: int
    response_rate: float | None


class Sla(BaseModel):
    resolved: int
    compliant: int
    compliance: float | None
    breaches: int


class Kpis(BaseModel):
    created: int
    resolved: int
    first_resolved: int
    first_response_time: DurationStats
    next_response_time: DurationStats
    time_to_resolve: DurationStats
    fcr: Share
    reopen: Share
    reopens: int
    csat: Csat
    sla: Sla
    handovers: int
    complaints: int
    suggestions: int

    @classmethod
    def of(cls, t: dict[str, Any]) -> Kpis:
        def durations(name: str) -> DurationStats:
            d = Durations.of(int(t[f"{name}_n"]), int(t[f"{name}_sum"]), t[f"{name}_hist"] or [])
            return DurationStats(count=d.count, mean=d.mean, median=d.median, p90=d.p90)

        first = int(t["first_resolved"])
        answered, positive, surveys = (
            int(t["csat_answered"]),
            int(t["csat_positive"]),
            int(t["surveys"]),
        )
        return cls(
            created=int(t["created"]),
            resolved=int(t["resolved"]),
            first_resolved=first,
            first_response_time=durations("frt"),
            next_response_time=durations("nrt"),
            time_to_resolve=durations("ttr"),
            fcr=Share(count=int(t["fcr"]), of=first, rate=rate(int(t["fcr"]), first)),
            reopen=Share(count=int(t["reopened"]), of=first, rate=rate(int(t["reopened"]), first)),
            reopens=int(t["reopens"]),
            csat=Csat(
                answered=answered,
                positive=positive,
                rate=rate(positive, answered),
                surveys_sent=surveys,
                response_rate=rate(answered, surveys),
            ),
            sla=Sla(
                resolved=first,
                compliant=int(t["sla_ok"]),
                compliance=rate(int(t["sla_ok"]), first),
                breaches=int(t["breaches"]),
            ),
            handovers=int(t["handovers"]),
            complaints=int(t["complaints"]),
            suggestions=int(t["suggestions"]),
        )


class Filter(BaseModel):
    dimension: str
    value: str


class Summary(BaseModel):
    """Every KPI over [from, to) (widened to whole hours), for one filter or the desk."""

    model_config = ConfigDict(populate_by_name=True)

    from_: datetime = Field(alias="from")
    to: datetime
    tz: str
    filter: Filter | None
    kpis: Kpis
    backlog_at_start: int
    backlog_at_end: int
    handovers_by_reason: dict[str, int]
    complaints_by_category: dict[str, int]
    suggestions_by_category: dict[str, int]


class Point(BaseModel):
    """One bucket: `value` is the count, the rate, or for a time the mean (seconds)."""

    at: datetime
    group: str | None
    value: float | None
    count: int
    mean: float | None = None
    p90: int | None = None


class Timeseries(BaseModel):
    metric: Metric
    interval: Interval
    tz: str
    group_by: GroupBy | None
    filter: Filter | None
    points: list[Point]


@dataclass(slots=True)
class Line:
    """One series of a `Series`: a value, a count and (for times) a mean per instant."""

    group: str | None
    values: list[float | None]
    counts: list[int]
    means: list[float | None] | None = None


@dataclass(slots=True)
class Series:
    """What `Timeseries` describes, kept as one list per line rather than a point per
    bucket: a year by day for 50 agents is 18,250 points, and as objects (let alone
    pydantic models) they would cost several times the query. `Point` documents them."""

    metric: Metric
    interval: Interval
    tz: str
    group_by: GroupBy | None
    filter: Filter | None
    instants: list[datetime]
    lines: list[Line]

    def points(self) -> list[dict[str, Any]]:
        """The points as the API shows them, line by line, each in time order."""
        stamps = [at.isoformat() for at in self.instants]
        points: list[dict[str, Any]] = []
        for line in self.lines:
            means = line.means or [None] * len(stamps)
            points.extend(
                {
                    "at": at,
                    "group": line.group,
                    "value": value,
                    "count": count,
                    "mean": mean,
                    "p90": None,
                }
                for at, value, count, mean in zip(
                    stamps, line.values, line.counts, means, strict=True
                )
            )
        return points

    def to_json(self) -> bytes:
        # pydantic-core writes plain dicts of strings and numbers in Rust.
        return to_json(
            {
                "metric": self.metric.value,
                "interval": self.interval.value,
                "tz": self.tz,
                "group_by": None if self.group_by is None else self.group_by.value,
                "filter": None if self.filter is None else self.filter.model_dump(),
                "points": self.points(),
            }
        )


class AgentRow(BaseModel):
    agent_id: int
    name: str
    handled: int
    load: int
    time_away_seconds: int
    kpis: Kpis


class AgentTable(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: datetime = Field(alias="from")
    to: datetime
    agents: list[AgentRow]


class TeamRow(BaseModel):
    team_id: int
    name: str
    load: int
    kpis: Kpis


class TeamTable(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: datetime = Field(alias="from")
    to: datetime
    teams: list[TeamRow]


class Example(BaseModel):
    ticket_id: int
    subject: str


class Emerging(BaseModel):
    """A category, tag or term rising above its own baseline (docs/metrics.md)."""

    kind: str
    key: str
    recent: int
    baseline: int
    expected: float
    p_value: float
    examples: list[Example]


class EmergingReport(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    recent_from: datetime
    baseline_from: datetime
    to: datetime
    min_count: int
    alpha: float
    items: list[Emerging]
