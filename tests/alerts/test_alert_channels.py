"""An alert rule crossed and uncrossed while its channels watch: a WebSocket on the
`alerts` topic, a mailbox behind a real SMTP server and a real HTTP receiver verifying
Standard Webhooks signatures. Each sees the firing, then the resolving."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook

from app.alerts.evaluate import evaluate_all
from app.config import Settings
from app.notifications.setup import make_worker
from app.notifications.worker import DeliveryWorker
from tests.factories import Actor, Actors, assert_problem
from tests.live.conftest import LiveServer, live_client, serve
from tests.metrics.helpers import API, ok
from tests.notifications.conftest import SmtpServer
from tests.webhooks.helpers import Receiver, create_webhook

JSON = dict[str, Any]


@pytest.fixture
async def hook_server(hook_app: FastAPI) -> AsyncIterator[LiveServer]:
    async with serve(hook_app) as server:
        yield server


@pytest.fixture
def worker(
    hook_settings: Settings,
    smtp_server: SmtpServer,
    sessionmaker: async_sessionmaker[AsyncSession],
    database_url: str,
    http: httpx.AsyncClient,
) -> DeliveryWorker:
    """The delivery worker as `helpdesk worker` runs it: mail to the SMTP server,
    webhooks to the loopback receiver."""
    settings = hook_settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_server.port,
            "smtp_security": "none",
            "smtp_timeout_seconds": 5,
        }
    )
    return make_worker(settings, sessionmaker, database_url, http)


def _complaint_rule(**extra: Any) -> JSON:
    return {
        "name": "Any complaint",
        "metric": "complaints",
        "window_minutes": 60,
        "comparison": "gte",
        "threshold": 1,
        "cooldown_minutes": 1,
        **extra,
    }


async def _complain(client: httpx.AsyncClient, customer: Actor) -> None:
    body = {"kind": "complaint", "body": "Nobody answers."}
    ok(await client.post(f"{API}/feedback", json=body, headers=customer.headers), 201)


def _alert_mails(smtp: SmtpServer, to: str) -> list[str]:
    texts = []
    for message in smtp.handler.to(to):
        part = message.get_body(preferencelist=("plain",))
        assert isinstance(part, EmailMessage)
        text = part.get_content()
        if "Any complaint" in text:
            texts.append(text)
    return texts


def _verified(secret: str, receiver: Receiver, path: str) -> list[JSON]:
    """The alerts that reached `path` (the endpoint also gets the ticket events it
    subscribes to), each verified the way a Standard Webhooks receiver does."""
    posted = [
        Webhook(secret).verify(r.body, r.headers) for r in receiver.requests if r.path == path
    ]
    return [p for p in posted if str(p["type"]).startswith("alert.")]


async def _delivered(worker: DeliveryWorker) -> None:
    await worker.run_until_idle()
    await asyncio.sleep(0)


async def test_fired_then_resolved_reach_the_socket_the_mailbox_and_the_webhook(
    hook_client: httpx.AsyncClient,
    actors: Actors,
    sessionmaker: async_sessionmaker[AsyncSession],
    hook_server: LiveServer,
    receiver: Receiver,
    smtp_server: SmtpServer,
    worker: DeliveryWorker,
) -> None:
    admin, supervisor = await actors.admin(), await actors.supervisor()
    customer = await actors.customer()
    hook = await create_webhook(hook_client, admin, receiver.url("/alerts"), ["ticket.created"])
    rule = ok(
        await hook_client.post(
            f"{API}/alert-rules",
            json=_complaint_rule(recipient_ids=[supervisor.id], webhook_ids=[hook["id"]]),
            headers=supervisor.headers,
        ),
        201,
    )
    assert rule["webhook_ids"] == [hook["id"]]
    await _delivered(worker)
    assert _verified(hook["secret"], receiver, "/alerts") == []

    async with live_client(hook_server, supervisor.token) as socket:
        await socket.subscribe("alerts")
        await _complain(hook_client, customer)
        now = datetime.now(UTC)
        assert await evaluate_all(sessionmaker, now) == 1
        fired = await socket.receive_type("alert")
        assert fired["event"]["kind"] == "alert.fired"
        await _delivered(worker)

        mails = _alert_mails(smtp_server, supervisor.email)
        assert len(mails) == 1, mails
        assert "Alert: Any complaint" in mails[0]
        (posted,) = _verified(hook["secret"], receiver, "/alerts")
        assert posted["type"] == "alert.fired"
        assert posted["timestamp"] == now.isoformat()
        alert = posted["data"]["alert"]
        assert alert["rule_id"] == rule["id"]
        assert alert["rule_name"] == "Any complaint"
        assert (alert["metric"], alert["comparison"], alert["threshold"]) == (
            "complaints",
            "gte",
            1,
        )
        assert alert["value"] == 1.0
        assert alert["alert_id"] == fired["event"]["data"]["alert_id"]
        assert posted["data"]["event"] == {
            "kind": "alert.fired",
            "alert_id": alert["alert_id"],
            "created_at": now.isoformat(),
        }

        later = now + timedelta(hours=3)  # the complaint is out of the window
        assert await evaluate_all(sessionmaker, later) == 1
        resolved = await socket.receive_type("alert")
        assert resolved["event"]["kind"] == "alert.resolved"
        await _delivered(worker)

    mails = _alert_mails(smtp_server, supervisor.email)
    assert len(mails) == 2, mails
    assert "Alert: Any complaint" in mails[0]
    assert "Resolved: Any complaint" in mails[1]
    first, second = _verified(hook["secret"], receiver, "/alerts")
    assert first["type"] == "alert.fired"
    assert second["type"] == "alert.resolved"
    assert second["data"]["alert"]["value"] == 0.0
    assert second["data"]["alert"]["alert_id"] == resolved["event"]["data"]["alert_id"]
    ids = [r.webhook_id for r in receiver.requests if r.webhook_id.startswith("alert_")]
    assert len(set(ids)) == 2
    listed = ok(
        await hook_client.get(f"{API}/webhooks/{hook['id']}/deliveries", headers=admin.headers)
    )
    alerts = [d for d in listed["items"] if d["event_kind"].startswith("alert.")]
    assert [(d["event_kind"], d["status"]) for d in alerts] == [
        ("alert.resolved", "delivered"),
        ("alert.fired", "delivered"),
    ]


async def _integration_token(
    client: httpx.AsyncClient, admin: Actor, integration: Actor, scopes: list[str]
) -> JSON:
    return ok(
        await client.post(
            f"{API}/users/{integration.id}/tokens",
            json={"name": "figures", "scopes": scopes},
            headers=admin.headers,
        ),
        201,
    )


async def test_a_rule_names_only_webhooks_that_may_receive_alerts(
    hook_client: httpx.AsyncClient, actors: Actors, receiver: Receiver
) -> None:
    admin, supervisor = await actors.admin(), await actors.supervisor()
    blind, reader = await actors.integration(), await actors.integration()
    await _integration_token(hook_client, admin, reader, ["metrics:read"])
    kinds = ["ticket.created"]
    theirs = await create_webhook(
        hook_client, admin, receiver.url("/blind"), kinds, integration_id=blind.id
    )
    readers = await create_webhook(
        hook_client, admin, receiver.url("/reader"), kinds, integration_id=reader.id
    )
    paused = await create_webhook(hook_client, admin, receiver.url("/paused"), kinds)
    ok(
        await hook_client.patch(
            f"{API}/webhooks/{paused['id']}", json={"active": False}, headers=admin.headers
        )
    )

    async def refused(ids: list[int]) -> str:
        body = _complaint_rule(webhook_ids=ids)
        response = await hook_client.post(
            f"{API}/alert-rules", json=body, headers=supervisor.headers
        )
        problem = assert_problem(response, 422)
        assert problem["errors"][0]["loc"] == ["body", "webhook_ids"]
        detail: str = problem["detail"]
        return detail

    assert "no webhook 999999" in await refused([999999])
    assert f"webhook {paused['id']} is disabled" in await refused([paused["id"]])
    detail = await refused([readers["id"], theirs["id"]])
    assert f"webhook {theirs['id']} belongs to integration {blind.id}" in detail
    assert "metrics:read" in detail
    assert f"webhook {readers['id']}" not in detail

    made = ok(
        await hook_client.post(
            f"{API}/alert-rules",
            json=_complaint_rule(webhook_ids=[readers["id"]]),
            headers=supervisor.headers,
        ),
        201,
    )
    patched = await hook_client.patch(
        f"{API}/alert-rules/{made['id']}",
        json={"webhook_ids": [theirs["id"]]},
        headers=supervisor.headers,
    )
    assert_problem(patched, 422)
    kept = ok(await hook_client.get(f"{API}/alert-rules/{made['id']}", headers=admin.headers))
    assert kept["webhook_ids"] == [readers["id"]]


async def test_an_integration_whose_scope_is_gone_gets_no_more_alerts(
    hook_client: httpx.AsyncClient,
    actors: Actors,
    sessionmaker: async_sessionmaker[AsyncSession],
    receiver: Receiver,
    worker: DeliveryWorker,
) -> None:
    admin, customer = await actors.admin(), await actors.customer()
    reader = await actors.integration()
    token = await _integration_token(hook_client, admin, reader, ["metrics:read"])
    kinds = ["ticket.created"]
    desk = await create_webhook(hook_client, admin, receiver.url("/desk"), kinds)
    theirs = await create_webhook(
        hook_client, admin, receiver.url("/reader"), kinds, integration_id=reader.id
    )
    ok(
        await hook_client.post(
            f"{API}/alert-rules",
            json=_complaint_rule(webhook_ids=[theirs["id"], desk["id"]]),
            headers=admin.headers,
        ),
        201,
    )
    revoked = await hook_client.delete(f"{API}/tokens/{token['id']}", headers=admin.headers)
    assert revoked.status_code == 204

    await _complain(hook_client, customer)
    assert await evaluate_all(sessionmaker) == 1
    await _delivered(worker)

    assert _verified(theirs["secret"], receiver, "/reader") == []
    assert [p["type"] for p in _verified(desk["secret"], receiver, "/desk")] == ["alert.fired"]
