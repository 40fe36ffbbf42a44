"""The metrics' own tables: one row of facts per ticket, and the rollups the dashboards
read (app/metrics/definitions.py says what each count means).

Both are derived from `ticket_events` (folding a ticket's events in order gives them
again); neither is ever the only record of anything.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigId


class MetricTicketFacts(Base):
    """A ticket as the metrics see it, folded from its events."""

    __tablename__ = "metric_ticket_facts"
    # Emerging issues read the tickets filed in a window.
    __table_args__ = (Index("ix_metric_ticket_facts_created_at", "created_at"),)

    ticket_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime]
    team_id: Mapped[int | None] = mapped_column(BigInteger)
    agent_id: Mapped[int | None] = mapped_column(BigInteger)
    channel: Mapped[str] = mapped_column(String(32))
    category: Mapped[str | None] = mapped_column(String(100))
    priority: Mapped[str] = mapped_column(String(32))
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(50)))
    status: Mapped[str] = mapped_column(String(32))
    first_response_at: Mapped[datetime | None]
    first_resolved_at: Mapped[datetime | None]
    reopens: Mapped[int] = mapped_column(Integer)
    agent_replies: Mapped[int] = mapped_column(Integer)
    awaiting_since: Mapped[datetime | None]
    breached: Mapped[bool] = mapped_column(Boolean)
    fcr_counted: Mapped[bool] = mapped_column(Boolean)
    # The dimensions as of the first resolution: a later reopening or reply corrects the
    # FCR and reopen counts of that hour, for those dimensions.
    res_team_id: Mapped[int | None] = mapped_column(BigInteger)
    res_agent_id: Mapped[int | None] = mapped_column(BigInteger)
    res_channel: Mapped[str | None] = mapped_column(String(32))
    res_category: Mapped[str | None] = mapped_column(String(100))
    res_priority: Mapped[str | None] = mapped_column(String(32))
    res_tags: Mapped[list[str] | None] = mapped_column(ARRAY(String(50)))
    imported: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # The SLA policy whose calendar its durations count business time on (no foreign
    # key: a removed policy's id stays, and counts wall-clock time).
    sla_policy_id: Mapped[int | None] = mapped_column(BigInteger)


class _RollupCounts:
    """The counts a rollup row holds (app/metrics/definitions.py)."""

    created: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    resolved: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    first_resolved: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    fcr: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    reopened: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    reopens: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    surveys: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    csat_answered: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    csat_positive: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    sla_ok: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    breaches: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    open_delta: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    handovers: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    complaints: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    suggestions: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    frt_n: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    frt_sum: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    frt_hist: Mapped[list[int] | None] = mapped_column(ARRAY(Integer))
    nrt_n: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    nrt_sum: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    nrt_hist: Mapped[list[int] | None] = mapped_column(ARRAY(Integer))
    ttr_n: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    ttr_sum: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    ttr_hist: Mapped[list[int] | None] = mapped_column(ARRAY(Integer))


class MetricRollup(_RollupCounts, Base):
    """Counts per hour (grain `h`), per UTC day (`d`) and per UTC month (`m`), for one
    dimension value: `dim` is `*` (everything), team, agent, channel, category, priority
    or tag, `val` its value (`''` for none). `sub` breaks a count down (`handover:<reason>`,
    `complaint:<category>`); the totals have `sub = ''`. Written only by the compactor
    (app/metrics/compaction.py), which folds the deltas in."""

    __tablename__ = "metric_rollups"

    grain: Mapped[str] = mapped_column(String(1), primary_key=True)
    dim: Mapped[str] = mapped_column(String(16), primary_key=True)
    val: Mapped[str] = mapped_column(String(120), primary_key=True)
    sub: Mapped[str] = mapped_column(String(160), primary_key=True)
    bucket: Mapped[datetime] = mapped_column(primary_key=True)


class MetricRollupDelta(_RollupCounts, Base):
    """What changes add to the rollups, appended in the write transaction: an INSERT
    takes no lock another change waits on (an upsert of the hour's row would make every
    change wait for the one before it to commit). Readers add them to the rollups; the
    compactor moves them in."""

    __tablename__ = "metric_rollup_deltas"
    __table_args__ = (Index("ix_metric_rollup_deltas_key", "grain", "dim", "val", "sub", "bucket"),)

    id: Mapped[BigId]
    grain: Mapped[str] = mapped_column(String(1))
    dim: Mapped[str] = mapped_column(String(16))
    val: Mapped[str] = mapped_column(String(120))
    sub: Mapped[str] = mapped_column(String(160))
    bucket: Mapped[datetime]
