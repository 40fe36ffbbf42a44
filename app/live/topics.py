"""Topics a live connection subscribes to, who may have which, and which events match.

Staff: `ticket:N`, `team:N`, `owner:me`, `queue:all`, `alerts` (threshold alerts).
Requesters (customers and integrations): `mine` and `ticket:N` for their own tickets
only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.models import Role, User

_TICKET = re.compile(r"^ticket:([1-9][0-9]{0,17})$")
_TEAM = re.compile(r"^team:([1-9][0-9]{0,17})$")

QUEUE_ALL = "queue:all"
OWNER_ME = "owner:me"
MINE = "mine"
ALERTS = "alerts"


@dataclass(frozen=True, slots=True)
class Topic:
    """A parsed topic: kind is ticket, team, owner, queue, mine or alerts; ref the id it names."""

    name: str
    kind: str
    ref: int | None = None


class TopicError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is on a live connection: what the channel needs of the user, and nothing of
    the ORM instance (its session state would be kept alive per connection)."""

    id: int
    name: str
    role: Role

    @classmethod
    def of(cls, user: User) -> Viewer:
        return cls(user.id, user.name, user.role)

    @property
    def staff(self) -> bool:
        return self.role.is_staff

    def as_user(self) -> User:
        """A transient User for the shared visibility rules (they read id and role)."""
        return User(id=self.id, name=self.name, role=self.role)


def parse_topic(name: object, viewer: Viewer) -> Topic:
    if not isinstance(name, str) or len(name) > 40:
        raise TopicError("a topic is a short string such as ticket:42")
    if match := _TICKET.match(name):
        return Topic(name, "ticket", int(match.group(1)))
    staff = viewer.staff
    if name == MINE:
        if staff:
            raise TopicError("mine is for requesters; staff subscribe to owner:me")
        return Topic(name, "mine", viewer.id)
    if not staff:
        raise TopicError(f"{name} is not available to you; subscribe to mine or ticket:N")
    if match := _TEAM.match(name):
        return Topic(name, "team", int(match.group(1)))
    if name == OWNER_ME:
        return Topic(name, "owner", viewer.id)
    if name == QUEUE_ALL:
        return Topic(name, "queue")
    if name == ALERTS:
        return Topic(name, "alerts")
    raise TopicError(f"unknown topic {name[:40]!r}")


@dataclass(frozen=True, slots=True)
class EventRouting:
    """What an event touches, to find who subscribed to it."""

    ticket_id: int
    team_id: int | None
    owner_ids: frozenset[int]  # the owner now, and the previous one on a handover
    requester_id: int
    created_by_id: int


def topic_keys(routing: EventRouting) -> list[tuple[str, int | None]]:
    keys: list[tuple[str, int | None]] = [("ticket", routing.ticket_id), ("queue", None)]
    if routing.team_id is not None:
        keys.append(("team", routing.team_id))
    keys.extend(("owner", owner) for owner in routing.owner_ids)
    keys.append(("mine", routing.requester_id))
    if routing.created_by_id != routing.requester_id:
        keys.append(("mine", routing.created_by_id))
    return keys
