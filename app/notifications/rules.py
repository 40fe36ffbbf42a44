"""Who hears about what. The one place these rules live.

Each rule turns a timeline event into notices: a recipient, the topic it falls under
(people choose channels per topic), whether it is essential (customers may silence
everything else), and the part they play. Nobody is told about their own action,
except that a requester is always told their request was received; internal events
never reach a requester.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from app.events.kinds import QUIET, EventKind


class NoticeTopic(StrEnum):
    RECEIVED = "received"  # your request was received
    REPLIES = "replies"  # a public reply, or the customer wrote back
    STATUS = "status"  # pending with a question, resolved, reopened
    CONTACT = "contact"  # who handles the case now, and why
    ASSIGNMENT = "assignment"  # a ticket was given to you, or taken from you
    INTERNAL = "internal"  # internal notes
    ACTIVITY = "activity"  # anything else a follower may care about
    FEEDBACK = "feedback"  # surveys and feedback on your suggestions
    SLA = "sla"  # a response or resolution target is near, or was missed
    INTEGRATIONS = "integrations"  # admins: a webhook endpoint was disabled


# What a customer cannot switch off entirely: the case changing hands or status, replies.
ESSENTIAL_TOPICS = frozenset({NoticeTopic.REPLIES, NoticeTopic.STATUS, NoticeTopic.CONTACT})


class Part(StrEnum):
    REQUESTER = "requester"
    OWNER = "owner"
    NEW_OWNER = "new_owner"
    PREVIOUS_OWNER = "previous_owner"
    FOLLOWER = "follower"
    TEAM = "team"


@dataclass(frozen=True, slots=True)
class Notice:
    recipient_id: int
    topic: NoticeTopic
    part: Part

    @property
    def essential(self) -> bool:
        return self.topic in ESSENTIAL_TOPICS


@dataclass(frozen=True, slots=True)
class Situation:
    """The ticket as it stands after the event, and who is around it."""

    requester_id: int
    owner_id: int | None
    team_member_ids: frozenset[int]
    follower_ids: frozenset[int]


# The moves a requester hears about: a question for them, a solution, the end.
_TOLD_STATUSES = frozenset({"pending", "resolved", "closed"})


def _person_id(value: Any) -> int | None:
    person_id = value.get("id") if isinstance(value, dict) else None
    return person_id if isinstance(person_id, int) else None


def notices_for(
    kind: str, data: dict[str, Any], public: bool, actor_id: int | None, situation: Situation
) -> list[Notice]:
    if data.get(QUIET):
        return []
    notices: list[Notice] = []
    requester, owner = situation.requester_id, situation.owner_id
    staff_around = _staff_around(situation)

    def tell(recipient: int | None, topic: NoticeTopic, part: Part) -> None:
        if recipient is not None:
            notices.append(Notice(recipient, topic, part))

    match kind:
        case EventKind.TICKET_CREATED:
            tell(requester, NoticeTopic.RECEIVED, Part.REQUESTER)
        case EventKind.MESSAGE_CREATED if not public:
            for member in staff_around:
                tell(member, NoticeTopic.INTERNAL, _staff_part(member, situation))
        case EventKind.MESSAGE_CREATED if data.get("author_role") in ("customer", "integration"):
            for member in staff_around:
                tell(member, NoticeTopic.REPLIES, _staff_part(member, situation))
        case EventKind.MESSAGE_CREATED:
            tell(requester, NoticeTopic.REPLIES, Part.REQUESTER)
            for member in situation.follower_ids:
                tell(member, NoticeTopic.ACTIVITY, Part.FOLLOWER)
        case EventKind.STATUS_CHANGED:
            reopened = data.get("from") == "resolved" and data.get("to") == "open"
            if data.get("to") in _TOLD_STATUSES or reopened:
                tell(requester, NoticeTopic.STATUS, Part.REQUESTER)
            if actor_id == requester:
                for member in staff_around:
                    tell(member, NoticeTopic.STATUS, _staff_part(member, situation))
        case EventKind.OWNER_CHANGED:
            new_owner, previous = _person_id(data.get("to")), _person_id(data.get("from"))
            tell(requester, NoticeTopic.CONTACT, Part.REQUESTER)
            tell(new_owner, NoticeTopic.ASSIGNMENT, Part.NEW_OWNER)
            if data.get("reason") != "unavailability" or "absence" not in data:
                # Someone away is not sent a message per ticket taken off their hands.
                tell(previous, NoticeTopic.ASSIGNMENT, Part.PREVIOUS_OWNER)
            for member in situation.follower_ids - {new_owner, previous}:
                tell(member, NoticeTopic.ACTIVITY, Part.FOLLOWER)
        case EventKind.FEEDBACK_RECEIVED:
            tell(owner, NoticeTopic.FEEDBACK, Part.OWNER)
        case EventKind.SLA_DELAY_ANNOUNCED:
            # The answer time stated to them is about to pass: they hear it from us first.
            tell(requester, NoticeTopic.STATUS, Part.REQUESTER)
        case EventKind.SLA_WARNING | EventKind.SLA_BREACHED:
            for member in staff_around:
                tell(member, NoticeTopic.SLA, _staff_part(member, situation))
        case _:
            for member in situation.follower_ids:
                tell(member, NoticeTopic.ACTIVITY, Part.FOLLOWER)

    return _deduplicated(n for n in notices if _may_receive(n, kind, actor_id, public, situation))


def uses_team(kind: str) -> bool:
    """Whether the rules for `kind` may tell the team of an unowned ticket (so the outbox
    loads its members only then)."""
    return kind in (EventKind.MESSAGE_CREATED, EventKind.STATUS_CHANGED)


def _staff_around(situation: Situation) -> set[int]:
    """Who inside follows the case: its owner (or, unowned, its team) and followers."""
    around = set(situation.follower_ids)
    if situation.owner_id is not None:
        around.add(situation.owner_id)
    else:
        around |= situation.team_member_ids
    return around


def _staff_part(member: int, situation: Situation) -> Part:
    if member == situation.owner_id:
        return Part.OWNER
    if member in situation.follower_ids:
        return Part.FOLLOWER
    return Part.TEAM


def _may_receive(
    notice: Notice, kind: str, actor_id: int | None, public: bool, situation: Situation
) -> bool:
    if notice.recipient_id == situation.requester_id and not public:
        return False  # internal news never reaches the requester
    if notice.recipient_id == actor_id:
        return kind == EventKind.TICKET_CREATED and notice.part is Part.REQUESTER
    return True


def _deduplicated(notices: Any) -> list[Notice]:
    seen: set[int] = set()
    unique = []
    for notice in notices:
        if notice.recipient_id not in seen:
            seen.add(notice.recipient_id)
            unique.append(notice)
    return unique
