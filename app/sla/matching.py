"""Which SLA policy a ticket falls under: the first match in order, else the default.

Pure: the SLA reaction loads the policies (a few dozen rows; cache them by a version
bumped on every policy write), turns each into a `PolicyRule` once, and asks
`first_matching_policy` with the ticket's facts whenever a ticket is created or its
team, category or channel changes, or the customer's organisation or tier does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


def normalized(text: str) -> str:
    """Compared without regard to case or spacing: " Billing  Issues" is "billing issues"."""
    return " ".join(text.split()).casefold()


@dataclass(frozen=True, slots=True)
class TicketFacts:
    team_id: int | None = None
    category: str | None = None
    channel: str | None = None
    organisation: str | None = None
    tier: str | None = None


@dataclass(frozen=True, slots=True)
class PolicyRule:
    """A policy's place in the order and its conditions; None means any value."""

    id: int
    position: int
    is_default: bool = False
    team_ids: frozenset[int] | None = None
    categories: frozenset[str] | None = None
    channels: frozenset[str] | None = None
    organisations: frozenset[str] | None = None
    tiers: frozenset[str] | None = None

    def matches(self, facts: TicketFacts) -> bool:
        return (
            _holds(self.team_ids, facts.team_id)
            and _holds(self.categories, _key(facts.category))
            and _holds(self.channels, facts.channel)
            and _holds(self.organisations, _key(facts.organisation))
            and _holds(self.tiers, _key(facts.tier))
        )


def _key(text: str | None) -> str | None:
    return None if text is None else normalized(text)


def _holds(allowed: frozenset[T] | None, value: T | None) -> bool:
    """No condition holds for every ticket; a condition never holds for a missing value."""
    return allowed is None or (value is not None and value in allowed)


def first_matching_policy(rules: Iterable[PolicyRule], facts: TicketFacts) -> PolicyRule | None:
    """The first conditional policy that matches, by position then id (the older one
    first on a tie); else the default policy; else None (no policies at all)."""
    default: PolicyRule | None = None
    best: PolicyRule | None = None
    for rule in rules:
        if rule.is_default:
            if default is None or rule.id < default.id:
                default = rule
        elif rule.matches(facts) and (
            best is None or (rule.position, rule.id) < (best.position, best.id)
        ):
            best = rule
    return best or default
