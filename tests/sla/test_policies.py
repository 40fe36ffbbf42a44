"""SLA policies: what the API accepts, and which policy a ticket falls under."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from app.models import Priority
from app.sla.matching import PolicyRule, TicketFacts, first_matching_policy
from app.sla.policy_schemas import BreachAction, SlaPolicyIn


def gold(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Gold customers",
        "calendar_id": 2,
        "position": 10,
        "conditions": {"tiers": ["Gold"], "channels": ["email", "phone"]},
        "targets": {
            "critical": {
                "first_response_minutes": 15,
                "resolution_minutes": 240,
                "business_hours": False,
            },
            "high": {
                "first_response_minutes": 60,
                "next_response_minutes": 120,
                "resolution_minutes": 480,
            },
        },
        "on_breach": ["notify_supervisors", "escalate", "notify_supervisors"],
    }
    return body | changes


def refusal(body: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        SlaPolicyIn.model_validate(body)
    return str(caught.value)


def test_a_policy_is_read_with_its_targets_per_priority() -> None:
    policy = SlaPolicyIn.model_validate(gold())
    high = policy.targets.for_priority(Priority.HIGH)
    assert high is not None
    assert high.durations() == (timedelta(hours=1), timedelta(hours=2), timedelta(hours=8))
    assert high.business_hours
    critical = policy.targets.for_priority(Priority.CRITICAL)
    assert critical is not None
    assert not critical.business_hours
    assert critical.durations()[1] is None
    assert policy.targets.for_priority(Priority.LOW) is None  # not tracked
    assert policy.on_breach == [BreachAction.NOTIFY_SUPERVISORS, BreachAction.ESCALATE]
    assert policy.conditions.tiers == ["gold"]


def test_the_default_policy_has_no_conditions_and_the_others_have_some() -> None:
    default = SlaPolicyIn.model_validate(gold(is_default=True, conditions={}))
    assert default.conditions.is_empty()
    assert "default policy applies when no other does" in refusal(gold(is_default=True))
    assert "would match every ticket" in refusal(gold(conditions={}))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"conditions": {"team_ids": []}}, "at least 1 item"),
        ({"conditions": {"channels": ["fax"]}}, "channels.0"),
        ({"conditions": {"categories": ["billing\x00"]}}, "NUL"),
        ({"conditions": {"team_ids": [0]}}, "greater than or equal to 1"),
        ({"conditions": {"team_ids": ["1"]}}, "valid integer"),
        ({"conditions": {"colour": ["red"]}}, "Extra inputs"),
        ({"targets": {}}, "at least one priority"),
        ({"targets": {"urgent": {"first_response_minutes": 5}}}, "Extra inputs"),
        ({"targets": {"high": {}}}, "at least one target"),
        ({"targets": {"high": {"first_response_minutes": 0}}}, "greater than or equal to 1"),
        ({"targets": {"high": {"first_response_minutes": 1.5}}}, "valid integer"),
        ({"targets": {"high": {"first_response_minutes": True}}}, "valid integer"),
        ({"targets": {"high": {"resolution_minutes": 600_000}}}, "less than or equal"),
        (
            {"targets": {"high": {"first_response_minutes": 90, "resolution_minutes": 60}}},
            "first response cannot be due after the resolution",
        ),
        ({"on_breach": ["page_the_ceo"]}, "on_breach.0"),
        ({"calendar_id": None}, "calendar_id"),
        ({"position": -1}, "greater than or equal to 0"),
        ({"name": "Gold\x00"}, "NUL"),
    ],
)
def test_bad_policies_are_refused(changes: dict[str, Any], message: str) -> None:
    assert message in refusal(gold(**changes))


def rule(policy_id: int, position: int, **conditions: Any) -> PolicyRule:
    policy = SlaPolicyIn.model_validate(gold(conditions=conditions))
    return policy.conditions.rule(policy_id, position, is_default=False)


DEFAULT = PolicyRule(id=1, position=0, is_default=True)


def test_the_first_match_in_order_wins_and_the_default_catches_the_rest() -> None:
    billing = rule(2, position=20, categories=["Billing"])
    gold_email = rule(3, position=10, tiers=["gold"], channels=["email"])
    same_place = rule(4, position=10, tiers=["gold"])
    policies = [DEFAULT, billing, same_place, gold_email]
    facts = TicketFacts(category=" billing ", channel="email", tier="GOLD")
    assert first_matching_policy(policies, facts) == gold_email  # position 10, older id
    assert first_matching_policy(policies, TicketFacts(category="BILLING")) == billing
    assert first_matching_policy(policies, TicketFacts(category="Returns")) == DEFAULT
    assert first_matching_policy([billing], TicketFacts()) is None


def test_every_condition_must_hold_and_a_missing_fact_never_matches() -> None:
    team_and_channel = rule(5, position=1, team_ids=[7, 8], channels=["chat", "web"])
    assert team_and_channel.matches(TicketFacts(team_id=8, channel="web"))
    assert not team_and_channel.matches(TicketFacts(team_id=8, channel="email"))
    assert not team_and_channel.matches(TicketFacts(team_id=9, channel="web"))
    assert not team_and_channel.matches(TicketFacts(channel="web"))  # no team
    by_organisation = rule(6, position=1, organisations=["ACME  Corp"])
    assert by_organisation.matches(TicketFacts(organisation="acme corp"))
    assert not by_organisation.matches(TicketFacts(organisation=None))
