"""Reactions: how other domains plug into the write path without the ticket service
knowing them.

A domain that must act when tickets change registers a reaction, at start-up, in one
visible place (`app/wiring.py`). The recorder runs them in the transaction of the
change, in two phases:

- **filing**, before a new ticket's row is inserted: a reaction may complete the row
  (its due times, its first owner) and name events to append after `ticket.created`,
  so that the row goes in as it ends up, with one INSERT;
- **after** a batch of events is appended: each reaction registered for some of their
  kinds is called once with all of them (a handover batch of 25 tickets is one call,
  not 25). It may write rows and record further events; those are appended at once
  and reacted to in a next round, by every reaction that wants them. When a round
  records nothing more, the batch is **settled**: the settled reactions (the
  notification rules writing the outbox) see every event of the batch, in order.

Reactions never send anything; whatever leaves the desk goes through the outbox and
leaves after the commit. A reaction can leave things for a later one in the batch
through a typed `Slot` (the new owner's brief, for the outbox).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.events.kinds import EventKind
from app.events.records import NewEvent, Recorded
from app.models import Team, Ticket, User

T = TypeVar("T")

# A reaction that records events of the kind it reacts to would never settle; a batch
# that takes this many rounds is a bug, not a workload.
MAX_ROUNDS = 8

_REACTIONS = "helpdesk.reactions"
_RUNNING = "helpdesk.reactions.running"


class Slot(Generic[T]):
    """A typed place in a batch where reactions leave things for a later reaction."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Slot({self.name!r})"


@dataclass(slots=True)
class Filing:
    """A new ticket before its row is inserted: reactions may complete it."""

    ticket: Ticket  # no id yet
    team: Team | None
    actor: User
    now: datetime
    owner: User | None = None  # the owner it goes in with, if a reaction gave it one
    followups: list[NewEvent] = field(default_factory=list)  # appended after its creation
    # Added to its `ticket.created` data (the answer time stated to the customer).
    created_data: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Batch:
    """The events one change appended, and what reactions leave for each other."""

    session: AsyncSession
    recorded: list[Recorded]
    fresh: set[int]  # tickets filed in this transaction: nothing about them to look up
    _new: list[Recorded] = field(default_factory=list)
    _slots: dict[Slot[Any], list[Any]] = field(default_factory=dict)

    def leave(self, slot: Slot[T], item: T) -> None:
        self._slots.setdefault(slot, []).append(item)

    def collected(self, slot: Slot[T]) -> list[T]:
        items: list[T] = self._slots.get(slot, [])
        return items

    def join(self, recorded: Sequence[Recorded], fresh: Collection[int]) -> None:
        """Events a reaction recorded: they are reacted to in the next round."""
        self._new.extend(recorded)
        self.recorded.extend(recorded)
        self.fresh.update(fresh)

    def _next_round(self) -> list[Recorded]:
        new, self._new = self._new, []
        return new


FilingReaction = Callable[[AsyncSession, Sequence[Filing]], Awaitable[None]]
EventReaction = Callable[[Batch, Sequence[Recorded]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Reaction:
    run: EventReaction
    kinds: frozenset[str] | None  # None: every kind

    @property
    def name(self) -> str:
        return _name(self.run)

    def wants(self, kind: str) -> bool:
        return self.kinds is None or kind in self.kinds


class Reactions:
    """The registered reactions, in the order they run."""

    def __init__(self) -> None:
        self._filing: list[FilingReaction] = []
        self._after: list[Reaction] = []
        self._settled: list[Reaction] = []

    def on_filing(self, run: FilingReaction) -> Reactions:
        self._filing.append(run)
        return self

    def on(self, kinds: Collection[EventKind], run: EventReaction) -> Reactions:
        if not kinds:
            raise ValueError("a reaction names the kinds it reacts to")
        self._after.append(Reaction(run, frozenset(kinds)))
        return self

    def on_settled(self, run: EventReaction) -> Reactions:
        """Once no reaction records anything more: every event of the batch, in order."""
        self._settled.append(Reaction(run, None))
        return self

    def describe(self) -> list[str]:
        """One line per reaction, in order: what start-up logs and the docs list."""
        lines = [f"filing: {_name(r)}" for r in self._filing]
        lines += [f"{', '.join(sorted(r.kinds or ()))}: {r.name}" for r in self._after]
        lines += [f"settled (every event): {r.name}" for r in self._settled]
        return lines

    async def file(self, session: AsyncSession, filings: Sequence[Filing]) -> None:
        for run in self._filing:
            await run(session, filings)

    async def react(self, batch: Batch) -> None:
        info = batch.session.info
        info[_RUNNING] = batch
        try:
            current = list(batch.recorded)
            for _ in range(MAX_ROUNDS):
                for reaction in self._after:
                    wanted = [r for r in current if reaction.wants(r.event.kind)]
                    if wanted:
                        await reaction.run(batch, wanted)
                current = batch._next_round()
                if not current:
                    break
            else:
                raise RuntimeError(f"reactions did not settle in {MAX_ROUNDS} rounds")
        finally:
            del info[_RUNNING]
        for reaction in self._settled:
            await reaction.run(batch, batch.recorded)


def _name(run: object) -> str:
    qualname = getattr(run, "__qualname__", type(run).__qualname__)
    return f"{getattr(run, '__module__', '?')}.{qualname}"


def bind(sessionmaker: async_sessionmaker[AsyncSession], reactions: Reactions) -> None:
    """Every session of `sessionmaker` runs `reactions` on what it records."""
    sessionmaker.configure(info={_REACTIONS: reactions})


def reactions_of(session: AsyncSession) -> Reactions:
    reactions = session.info.get(_REACTIONS)
    if not isinstance(reactions, Reactions):
        raise RuntimeError(
            "this session records events but has no reactions bound: make its sessionmaker "
            "with app.wiring.sessionmaker_for (or bind one with app.events.reactions.bind)"
        )
    return reactions


def running_batch(session: AsyncSession) -> Batch | None:
    """The batch whose reactions are running in `session`, if any: what they record joins
    it, to be reacted to in its next round."""
    batch = session.info.get(_RUNNING)
    return batch if isinstance(batch, Batch) else None
