"""The public projection cannot be fooled: for every event kind the code knows, with every
field filled, every channel a customer or an outside system without include_internal
reads (REST, WebSocket frame, webhook payload, email and SMS text) carries exactly the
allow-list of app/events/audience.py and nothing written for staff."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.events import audience
from app.events.audience import (
    PUBLIC_TICKET_KEYS,
    SHAPES,
    Audience,
    public_data,
)
from app.events.kinds import EventKind
from app.events.records import Recorded
from app.events.schemas import present_event
from app.live.feed import to_live_event
from app.models import Role, Ticket, TicketEvent, TicketStatus, User, Visibility
from app.notifications.outbox import notice_payload, webhook_payload
from app.notifications.render import render
from app.notifications.rules import Notice, NoticeTopic, Part
from app.tickets.presenting import present
from tests.events.strategies import PUBLIC_VALUES, SECRET, STAFF_KEYS, event_data, events

NOW = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)
JSON = dict[str, Any]
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _event(kind: str, data: JSON, visibility: Visibility = Visibility.PUBLIC) -> TicketEvent:
    return TicketEvent(
        id=7,
        ticket_id=3,
        kind=kind,
        visibility=visibility,
        actor_id=5,
        data=data,
        ticket_version=4,
        created_at=NOW,
    )


def _user(role: Role, user_id: int = 5) -> User:
    user = User(role=role, name="Ann Agent", email="ann@desk.example")
    user.id = user_id
    return user


def _allowed(kind: EventKind) -> frozenset[str]:
    public = SHAPES[kind].public
    assert public is not None
    return public


def _public_kinds() -> list[EventKind]:
    return [k for k in EventKind if not SHAPES[k].internal_only]


def _no_secret(value: Any) -> None:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    assert SECRET not in text, text


def _nested_keys_are_public(kind: str, data: JSON) -> None:
    """The nested objects a projection keeps hold their public parts only."""
    for key in ("from", "to", "requester"):
        if isinstance(data.get(key), dict):
            assert set(data[key]) == {"id", "name"}
    if "absence" in data:
        assert set(data["absence"]) == {"reason", "until_day"}
        assert data["absence"]["reason"] in {"away", "departed"}
    if "escalation" in data:
        assert set(data["escalation"]) == {"from_team", "to_team"}
    for key in ("follow_up", "follow_up_of"):
        if key in data:
            assert set(data[key]) == {"id", "subject"}


# The inventory: enumerated from the code, so a new kind without a shape fails here.


def test_every_event_kind_has_a_shape() -> None:
    assert set(SHAPES) == set(EventKind)


def test_the_strategies_know_every_kind_and_every_public_key() -> None:
    # A new kind needs a strategy (its staff-only keys) as much as a shape.
    assert set(STAFF_KEYS) == set(EventKind)
    assert {k for k in EventKind if not SHAPES[k].internal_only} == set(PUBLIC_VALUES)
    for kind, values in PUBLIC_VALUES.items():
        assert set(values) == _allowed(kind), kind


# The projection itself.


@FAST
@given(events())
def test_the_public_projection_is_exactly_the_allow_list(drawn: tuple[EventKind, JSON]) -> None:
    kind, data = drawn
    projected = public_data(kind, data)
    if SHAPES[kind].internal_only:
        assert projected is None
        assert audience.project_data(kind, "public", data, Audience.PUBLIC) is None
        return
    assert projected is not None
    assert set(projected) == _allowed(kind)
    _nested_keys_are_public(kind, projected)
    _no_secret(projected)
    # Staff see it all, as written.
    assert audience.project_data(kind, "public", data, Audience.STAFF) == data


@FAST
@given(events())
def test_an_internal_event_projects_to_nothing_whatever_its_kind(
    drawn: tuple[EventKind, JSON],
) -> None:
    kind, data = drawn
    assert audience.project_data(kind, "internal", data, Audience.PUBLIC) is None
    assert not audience.event_is_public(kind, "internal")


@pytest.mark.parametrize("kind", _public_kinds())
def test_optional_keys_are_left_out_when_empty(kind: EventKind) -> None:
    data = dict.fromkeys(_allowed(kind))
    projected = public_data(kind, data)
    assert projected is not None
    assert set(projected) == _allowed(kind) - SHAPES[kind].optional


def test_an_absence_is_told_as_until_when_never_why() -> None:
    data = {
        "from": {"id": 1, "name": "Marco"},
        "to": {"id": 2, "name": "Anna"},
        "reason": "unavailability",
        "note": "Marco has the flu, go easy",
        "absence": {"id": 9, "reason": "sick_leave", "until": "x", "until_day": "2026-12-09"},
    }
    assert public_data(EventKind.OWNER_CHANGED, data) == {
        "from": {"id": 1, "name": "Marco"},
        "to": {"id": 2, "name": "Anna"},
        "reason": "unavailability",
        "absence": {"reason": "away", "until_day": "2026-12-09"},
    }


# Every channel.


@FAST
@given(events(), st.sampled_from([Role.CUSTOMER, Role.INTEGRATION]))
def test_rest_shows_a_customer_or_integration_the_allow_list_only(
    drawn: tuple[EventKind, JSON], role: Role
) -> None:
    kind, data = drawn
    shown = present_event(_event(kind, data), _user(Role.AGENT), _user(role, 99))
    if SHAPES[kind].internal_only:
        assert shown.data == {}
    else:
        assert set(shown.data) == _allowed(kind)
    _no_secret(shown.model_dump(mode="json"))
    assert shown.ticket_version is None  # the staff version counts hidden changes
    staff = present_event(_event(kind, data), _user(Role.AGENT), _user(Role.SUPERVISOR, 98))
    assert staff.data == data


def _live_row(kind: str, data: JSON) -> JSON:
    text = json.dumps(data)
    owner = kind == EventKind.OWNER_CHANGED
    return {
        "id": 7,
        "ticket_id": 3,
        "kind": kind,
        "visibility": "public",
        "actor_id": 5,
        "data": text,
        "ticket_version": 4,
        "created_at": NOW,
        "txid": 1,
        "requester_id": 11,
        "owner_id": 5,
        "team_id": None,
        "created_by_id": 11,
        "actor_name": "Ann Agent",
        "actor_role": "agent",
        "ticket_status": "open",
        "owner_name": "Ann Agent",
        "owner_event_data": text if owner else None,
        "owner_event_at": NOW if owner else None,
        "last_kind": kind,
        "last_data": text,
        "last_at": NOW,
        "last_actor_name": "Ann Agent",
        "public_kind": kind,
        "public_data": text,
        "public_at": NOW,
        "public_actor_name": "Ann Agent",
    }


@FAST
@given(events())
def test_a_websocket_frame_for_a_requester_carries_the_allow_list_only(
    drawn: tuple[EventKind, JSON],
) -> None:
    kind, data = drawn
    live = to_live_event(_live_row(kind, data))
    frame = json.loads(live.requester_json)
    assert live.public is not SHAPES[kind].internal_only
    if not SHAPES[kind].internal_only:
        assert set(frame["data"]) == _allowed(kind)
    _no_secret(frame)
    assert frame["ticket_version"] is None
    _no_secret(live.requester_ticket_json)
    assert json.loads(live.staff_json)["data"] == data


def _recorded(kind: str, data: JSON) -> Recorded:
    ticket = Ticket(subject="Printer on fire")
    ticket.id = 3
    return Recorded(ticket, _event(kind, data), _user(Role.AGENT), 5, TicketStatus.OPEN)


@FAST
@given(events())
def test_a_webhook_without_include_internal_gets_the_allow_list_only(
    drawn: tuple[EventKind, JSON],
) -> None:
    kind, data = drawn
    payload = webhook_payload(_recorded(kind, data), include_internal=False)
    if SHAPES[kind].internal_only:
        assert payload is None
        return
    assert payload is not None
    assert set(payload["event"]["data"]) == _allowed(kind)
    assert payload["event"]["ticket_version"] is None
    _no_secret(payload)
    trusted = webhook_payload(_recorded(kind, data), include_internal=True)
    assert trusted is not None
    assert trusted["event"]["data"] == data


@FAST
@given(events(), st.sampled_from(["en", "it"]))
def test_a_requesters_mail_and_sms_say_nothing_written_for_staff(
    drawn: tuple[EventKind, JSON], locale: str
) -> None:
    kind, data = drawn
    entry = notice_payload(
        _event(kind, data), _user(Role.AGENT), Notice(11, NoticeTopic.CONTACT, Part.REQUESTER)
    )
    if not SHAPES[kind].internal_only:
        assert set(entry["data"]) == _allowed(kind)
    _no_secret(entry)  # what is stored in the outbox for them, too
    payload = {"ticket": {"id": 3, "subject": "Printer on fire"}, "notices": [entry]}
    rendered = render(payload, "Carla", locale, {})
    for text in (rendered.as_text(), rendered.as_html(), rendered.as_sms()):
        _no_secret(text)


@given(event_data(EventKind.OWNER_CHANGED))
@FAST
def test_the_new_owners_mail_still_has_the_handover_note(data: JSON) -> None:
    # The control: the staff path keeps what the public one drops, so the test above
    # would see a leak if the requester's path took the staff one.
    entry = notice_payload(
        _event(EventKind.OWNER_CHANGED, data),
        _user(Role.AGENT),
        Notice(12, NoticeTopic.ASSIGNMENT, Part.NEW_OWNER),
    )
    payload = {"ticket": {"id": 3, "subject": "Printer on fire"}, "notices": [entry]}
    assert SECRET in render(payload, "Anna", "en", {}).as_text()


# The ticket.


def _details_row(event_kind: str, data: JSON) -> JSON:
    owner = event_kind == EventKind.OWNER_CHANGED
    return {
        "id": 3,
        "subject": "Printer on fire",
        "description": "Smoke",
        "status": "open",
        "channel": "web",
        "urgency": "high",
        "impact": "high",
        "priority": "critical",
        "category": "hardware",
        "tags": ["angry-customer", "refund-risk"],
        "external_ref": None,
        "follow_up_of_id": None,
        "version": 9,
        "created_at": NOW,
        "updated_at": NOW,
        "customer_version": 4,
        "customer_updated_at": NOW,
        "first_response_at": None,
        "resolved_at": None,
        "first_response_due_at": datetime(2026, 12, 6, 8, tzinfo=UTC),
        "next_response_due_at": None,
        "resolution_due_at": None,
        "sla_paused_since": None,
        "sla_policy_id": 2,
        "sla_policy_name": "Gold customers",
        "merged_into_id": None,
        "problem_id": 40,
        "requester_id": 11,
        "requester_name": "Carla",
        "requester_email": "carla@example.com",
        "owner_id": 5,
        "owner_name": "Ann",
        "team_id": None,
        "team_name": None,
        "event_kind": event_kind,
        "event_data": data,
        "event_at": NOW,
        "actor_name": "Ann",
        "owner_event_kind": EventKind.OWNER_CHANGED if owner else None,
        "owner_event_data": data if owner else None,
        "owner_event_at": NOW if owner else None,
    }


@FAST
@given(st.sampled_from(_public_kinds()).flatmap(lambda k: st.tuples(st.just(k), event_data(k))))
def test_the_customers_ticket_shows_public_keys_only(drawn: tuple[EventKind, JSON]) -> None:
    kind, data = drawn
    shown = present(_details_row(kind, data), NOW, Audience.PUBLIC).model_dump(mode="json")
    assert {k for k, v in shown.items() if v is not None} <= PUBLIC_TICKET_KEYS
    assert shown["sla"]["breached"] is None
    assert shown["sla"]["policy"] is None
    assert shown["version"] == 4  # the customer's own
    _no_secret(shown)
    staff = present(_details_row(kind, data), NOW, Audience.STAFF).model_dump(mode="json")
    assert staff["tags"] == ["angry-customer", "refund-risk"]
    assert staff["version"] == 9
    assert staff["sla"]["breached"] is True
    assert staff["sla"]["policy"] == {"id": 2, "name": "Gold customers"}
    assert (staff["impact"], staff["priority"], staff["problem_id"]) == ("high", "critical", 40)


def test_an_admin_may_show_customers_a_staff_only_field() -> None:
    row = _details_row(EventKind.TICKET_CREATED, {"subject": "x"})
    try:
        audience.configure(frozenset({"tags", "sla_breached", "not_a_field"}))
        shown = present(row, NOW, Audience.PUBLIC)
    finally:
        audience.configure(frozenset())
    assert shown.tags == ["angry-customer", "refund-risk"]
    assert shown.sla.breached is True
    assert shown.sla.policy is None
    assert (shown.impact, shown.priority, shown.problem_id) == (None, None, None)


def test_the_setting_names_showable_fields_only() -> None:
    from pydantic import ValidationError

    from app.config import Settings

    chosen = Settings.model_validate({"customer_visible_fields": "tags, sla_breached"})
    assert chosen.customer_visible_fields == ["tags", "sla_breached"]
    with pytest.raises(ValidationError):
        Settings.model_validate({"customer_visible_fields": "note"})
