"""Managing webhook endpoints: admins only, validated input, secrets, deletion."""

from __future__ import annotations

import base64

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import Role
from tests.factories import Actors, assert_problem
from tests.webhooks.helpers import API, create_webhook, expect, file_ticket, sql

PUBLIC_URL = "https://93.184.215.14/hooks/helpdesk"  # a literal public address: no DNS


async def test_an_admin_creates_reads_lists_updates_and_deletes_a_webhook(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    admin = await actors.admin()
    created = await client.post(
        f"{API}/webhooks",
        json={
            "url": PUBLIC_URL,
            "event_kinds": ["ticket.created", "message.created", "ticket.created"],
            "description": "CRM sync",
        },
        headers=admin.headers,
    )
    hook = expect(created, 201)
    assert created.headers["location"] == f"/api/v1/webhooks/{hook['id']}"
    assert hook["url"] == PUBLIC_URL
    assert hook["event_kinds"] == ["ticket.created", "message.created"]
    assert hook["active"] is True
    assert hook["failing_since"] is None
    assert hook["created_by_id"] == admin.id
    assert hook["secret"].startswith("whsec_")
    assert len(base64.b64decode(hook["secret"].removeprefix("whsec_"))) == 24

    read = expect(await client.get(f"{API}/webhooks/{hook['id']}", headers=admin.headers), 200)
    assert "secret" not in read
    assert read == {k: v for k, v in hook.items() if k != "secret"}
    secret = expect(
        await client.get(f"{API}/webhooks/{hook['id']}/secret", headers=admin.headers), 200
    )
    assert secret == {"secret": hook["secret"]}

    changed = expect(
        await client.patch(
            f"{API}/webhooks/{hook['id']}",
            json={"event_kinds": ["*"], "description": None},
            headers=admin.headers,
        ),
        200,
    )
    assert changed["event_kinds"] == ["*"]
    assert changed["description"] is None
    assert changed["url"] == PUBLIC_URL

    listed = expect(await client.get(f"{API}/webhooks", headers=admin.headers), 200)
    assert [h["id"] for h in listed["items"]] == [hook["id"]]
    assert "secret" not in listed["items"][0]

    gone = await client.delete(f"{API}/webhooks/{hook['id']}", headers=admin.headers)
    assert gone.status_code == 204
    assert_problem(await client.get(f"{API}/webhooks/{hook['id']}", headers=admin.headers), 404)


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.AGENT, Role.CUSTOMER, Role.INTEGRATION])
async def test_only_admins_may_touch_webhooks(
    client: httpx.AsyncClient, actors: Actors, role: Role
) -> None:
    admin, other = await actors.admin(), await actors.make(role)
    hook = await create_webhook(client, admin, PUBLIC_URL)
    base = f"{API}/webhooks/{hook['id']}"
    for method, url, body in [
        ("POST", f"{API}/webhooks", {"url": PUBLIC_URL, "event_kinds": ["*"]}),
        ("GET", f"{API}/webhooks", None),
        ("GET", base, None),
        ("GET", f"{base}/secret", None),
        ("PATCH", base, {"active": False}),
        ("DELETE", base, None),
        ("POST", f"{base}/rotate-secret", None),
        ("GET", f"{base}/deliveries", None),
        ("POST", f"{base}/deliveries/1/redeliver", None),
    ]:
        response = await client.request(method, url, json=body, headers=other.headers)
        assert_problem(response, 403)
        assert_problem(await client.request(method, url, json=body), 401)
    still = expect(await client.get(base, headers=admin.headers), 200)
    assert still["active"] is True


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ({"url": "ftp://93.184.215.14/x", "event_kinds": ["*"]}, "http"),
        ({"url": "https://user:pw@93.184.215.14/x", "event_kinds": ["*"]}, "credentials"),
        ({"url": "https://93.184.215.14/" + "a" * 2000, "event_kinds": ["*"]}, "2000"),
        ({"url": "not a url", "event_kinds": ["*"]}, "url"),
        ({"url": "https://93.184.215.14/x\x00", "event_kinds": ["*"]}, "NUL"),
        ({"url": PUBLIC_URL, "event_kinds": []}, "event_kinds"),
        ({"url": PUBLIC_URL, "event_kinds": ["ticket.exploded"]}, "event_kinds"),
        ({"url": PUBLIC_URL, "event_kinds": ["*", "alert.fired"]}, "webhook_ids"),
        ({"url": PUBLIC_URL, "event_kinds": ["*"], "secret": "whsec_mine"}, "secret"),
        ({"event_kinds": ["*"]}, "url"),
    ],
)
async def test_a_malformed_webhook_is_refused_with_the_reason(
    client: httpx.AsyncClient, actors: Actors, body: dict[str, object], complaint: str
) -> None:
    admin = await actors.admin()
    problem = assert_problem(
        await client.post(f"{API}/webhooks", json=body, headers=admin.headers), 422
    )
    assert complaint.lower() in (problem["detail"] + str(problem["errors"])).lower()


async def test_null_is_refused_where_it_cannot_mean_clear(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    admin = await actors.admin()
    hook = await create_webhook(client, admin, PUBLIC_URL)
    for field in ("url", "event_kinds", "active"):
        response = await client.patch(
            f"{API}/webhooks/{hook['id']}", json={field: None}, headers=admin.headers
        )
        assert field in assert_problem(response, 422)["detail"]


async def test_a_retried_create_with_the_same_idempotency_key_creates_one_webhook(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    admin = await actors.admin()
    body = {"url": PUBLIC_URL, "event_kinds": ["*"]}
    headers = {**admin.headers, "Idempotency-Key": "hook-1"}
    first = await client.post(f"{API}/webhooks", json=body, headers=headers)
    again = await client.post(f"{API}/webhooks", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    listed = expect(await client.get(f"{API}/webhooks", headers=admin.headers), 200)
    assert len(listed["items"]) == 1
    other = await client.post(
        f"{API}/webhooks", json={**body, "description": "else"}, headers=headers
    )
    assert_problem(other, 422)


async def test_rotating_the_secret_replaces_it(client: httpx.AsyncClient, actors: Actors) -> None:
    admin = await actors.admin()
    hook = await create_webhook(client, admin, PUBLIC_URL)
    rotated = expect(
        await client.post(f"{API}/webhooks/{hook['id']}/rotate-secret", headers=admin.headers),
        200,
    )
    assert rotated["secret"].startswith("whsec_")
    assert rotated["secret"] != hook["secret"]
    secret = expect(
        await client.get(f"{API}/webhooks/{hook['id']}/secret", headers=admin.headers), 200
    )
    assert secret["secret"] == rotated["secret"]


async def test_the_list_pages_with_a_cursor_and_filters_on_active(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    admin = await actors.admin()
    ids = [(await create_webhook(client, admin, f"{PUBLIC_URL}/{n}"))["id"] for n in range(3)]
    await client.patch(f"{API}/webhooks/{ids[1]}", json={"active": False}, headers=admin.headers)
    first = expect(await client.get(f"{API}/webhooks?limit=2", headers=admin.headers), 200)
    assert [h["id"] for h in first["items"]] == ids[:2]
    second = expect(
        await client.get(
            f"{API}/webhooks?limit=2&cursor={first['next_cursor']}", headers=admin.headers
        ),
        200,
    )
    assert [h["id"] for h in second["items"]] == ids[2:]
    assert second["next_cursor"] is None
    paused = expect(await client.get(f"{API}/webhooks?active=false", headers=admin.headers), 200)
    assert [(h["id"], h["disabled_reason"]) for h in paused["items"]] == [
        (ids[1], "disabled by an admin")
    ]
    assert_problem(await client.get(f"{API}/webhooks?cursor=nonsense", headers=admin.headers), 400)


async def test_re_enabling_clears_the_failures_and_the_reason(
    client: httpx.AsyncClient, actors: Actors, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    admin = await actors.admin()
    hook = await create_webhook(client, admin, PUBLIC_URL)
    await sql(
        sessionmaker,
        "UPDATE webhook_endpoints SET active = false, disabled_reason = 'the receiver answered "
        "410 Gone', failing_since = now() - interval '80 hours' WHERE id = :id",
        id=hook["id"],
    )
    disabled = expect(await client.get(f"{API}/webhooks/{hook['id']}", headers=admin.headers), 200)
    assert disabled["active"] is False
    assert disabled["failing_since"] is not None
    enabled = expect(
        await client.patch(
            f"{API}/webhooks/{hook['id']}", json={"active": True}, headers=admin.headers
        ),
        200,
    )
    assert enabled["active"] is True
    assert enabled["disabled_reason"] is None
    assert enabled["failing_since"] is None


async def test_deleting_a_webhook_cancels_what_was_not_sent_and_keeps_the_history(
    client: httpx.AsyncClient, actors: Actors, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    admin, agent = await actors.admin(), await actors.agent()
    hook = await create_webhook(client, admin, PUBLIC_URL, ["ticket.created"])
    first, second = await file_ticket(client, agent), await file_ticket(client, agent)
    await sql(
        sessionmaker,
        "UPDATE notification_deliveries SET status = 'delivered', delivered_at = now() "
        "WHERE ticket_id = :id AND channel = 'webhook'",
        id=first["id"],
    )
    assert (
        await client.delete(f"{API}/webhooks/{hook['id']}", headers=admin.headers)
    ).status_code == 204

    rows = await sql(
        sessionmaker,
        "SELECT ticket_id, status, webhook_id FROM notification_deliveries "
        "WHERE channel = 'webhook' ORDER BY ticket_id",
    )
    assert [tuple(r) for r in rows] == [
        (first["id"], "delivered", None),
        (second["id"], "cancelled", None),
    ]
    history = expect(
        await client.get(f"{API}/tickets/{second['id']}/notifications", headers=admin.headers), 200
    )
    webhook_rows = [d for d in history["items"] if d["channel"] == "webhook"]
    assert [d["status"] for d in webhook_rows] == ["cancelled"]
    await file_ticket(client, agent)
    count = await sql(
        sessionmaker, "SELECT count(*) FROM notification_deliveries WHERE channel = 'webhook'"
    )
    assert count[0][0] == 2  # nothing new for a deleted endpoint
