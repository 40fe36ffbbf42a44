"""Emerging issues: categories, tags and terms whose volume in a recent window rises
significantly above their own baseline.

The test (docs/metrics.md): for a key with `x` tickets in the recent window of `R`
hours and `b` in the baseline of `B` hours before it, the expected count is
`λ = (b + 1) · R / B` (one pseudo-count, so a key new to the desk is not infinitely
surprising). The key is emerging when `x >= min_count` and the Poisson upper tail
`P(X >= x | λ)` is below `alpha` (default 0.001). Keys are ranked by that p-value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import cast, func, select, text
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.ext.asyncio import AsyncSession

from app.metrics import rollups
from app.metrics.reactions import FACTS
from app.metrics.rollups import Window
from app.models import Ticket


def poisson_upper_tail(x: int, expected: float) -> float:
    """P(X >= x) for X ~ Poisson(expected)."""
    if x <= 0:
        return 1.0
    log_expected = math.log(expected)
    below = math.fsum(math.exp(k * log_expected - expected - math.lgamma(k + 1)) for k in range(x))
    return max(0.0, 1.0 - below)


@dataclass(frozen=True, slots=True)
class Rise:
    kind: str  # category | tag | term
    key: str
    recent: int
    baseline: int
    expected: float
    p_value: float


def rises(
    kind: str,
    recent: dict[str, int],
    baseline: dict[str, int],
    ratio: float,
    *,
    min_count: int,
    alpha: float,
) -> list[Rise]:
    """`ratio`: recent hours / baseline hours."""
    found = []
    for key, count in recent.items():
        if count < min_count or not key:
            continue
        before = baseline.get(key, 0)
        expected = (before + 1) * ratio
        p = poisson_upper_tail(count, expected)
        if p < alpha:
            found.append(Rise(kind, key, count, before, round(expected, 3), p))
    return found


async def _created(session: AsyncSession, dim: str, span: Window) -> dict[str, int]:
    rows = await rollups.per_value(session, dim, span)
    return {key: int(row["created"]) for key, row in rows.items()}


async def _terms(
    session: AsyncSession, start: datetime, end: datetime, candidates: list[str] | None
) -> dict[str, int]:
    """Tickets whose subject or first message holds each word (ts_stat's ndoc)."""
    # ts_stat takes its query as text: format(%L) quotes the bounds into it.
    query = (
        "SELECT word, ndoc FROM ts_stat(format("
        "'SELECT t.search_public FROM tickets t JOIN metric_ticket_facts f "
        "ON f.ticket_id = t.id WHERE f.created_at >= %L AND f.created_at < %L', "
        "CAST(:start AS timestamptz), CAST(:end AS timestamptz)))"
    )
    params: dict[str, object] = {"start": start, "end": end}
    if candidates is not None:
        query += " WHERE word = ANY(:candidates)"
        params["candidates"] = candidates
    rows = await session.execute(text(query), params)
    return {str(word): int(n) for word, n in rows}


async def find(
    session: AsyncSession,
    now: datetime,
    *,
    recent_hours: int,
    baseline_days: int,
    min_count: int,
    alpha: float,
) -> list[Rise]:
    recent = Window.of(now - timedelta(hours=recent_hours), now)
    baseline = Window(recent.start - timedelta(days=baseline_days), recent.start)
    ratio = (recent.end - recent.start) / (baseline.end - baseline.start)
    found: list[Rise] = []
    for dim in ("category", "tag"):
        found += rises(
            dim,
            await _created(session, dim, recent),
            await _created(session, dim, baseline),
            ratio,
            min_count=min_count,
            alpha=alpha,
        )
    recent_terms = await _terms(session, recent.start, recent.end, None)
    candidates = [w for w, n in recent_terms.items() if n >= min_count]
    if candidates:
        base_terms = await _terms(session, baseline.start, baseline.end, candidates)
        found += rises("term", recent_terms, base_terms, ratio, min_count=min_count, alpha=alpha)
    return sorted(found, key=lambda r: (r.p_value, -r.recent, r.kind, r.key))


async def examples(
    session: AsyncSession, rise: Rise, since: datetime, limit: int = 3
) -> list[tuple[int, str]]:
    """A few recent tickets behind a rise: id and subject."""
    query = (
        select(Ticket.id, Ticket.subject)
        .join(FACTS, FACTS.c.ticket_id == Ticket.id)
        .where(FACTS.c.created_at >= since)
        .order_by(Ticket.id.desc())
        .limit(limit)
    )
    if rise.kind == "category":
        query = query.where(FACTS.c.category == rise.key)
    elif rise.kind == "tag":
        query = query.where(FACTS.c.tags.contains([rise.key]))
    else:
        term = cast(func.quote_literal(rise.key), TSQUERY)
        query = query.where(Ticket.search_public.op("@@")(term))
    return [(int(i), str(s)) for i, s in await session.execute(query)]
