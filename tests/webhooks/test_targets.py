"""Webhooks never reach private, loopback or link-local addresses unless an operator allows
them: refused when saved, and again when sent (DNS answers change)."""

from __future__ import annotations

import ipaddress

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.notifications.channels.targets import (
    TargetPolicy,
    TargetRefused,
    non_public_kind,
    vet_target,
)
from app.notifications.setup import make_worker
from app.notifications.worker import DeliveryWorker
from tests.factories import Actors, assert_problem
from tests.webhooks.helpers import API, Receiver, create_webhook, expect, file_ticket, sql

REFUSED = [
    ("http://127.0.0.1/hook", "loopback"),
    ("http://127.9.9.9:8080/hook", "loopback"),
    ("http://10.0.0.1/hook", "private"),
    ("http://192.168.1.20/hook", "private"),
    ("http://172.16.0.5/hook", "private"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://[::1]/hook", "loopback"),
    ("http://[fe80::1]/hook", "link-local"),
    ("http://[fd00::1]/hook", "private"),
    ("http://[::ffff:127.0.0.1]/hook", "loopback"),
    ("http://[::ffff:169.254.169.254]/hook", "link-local"),
    ("http://0.0.0.0/hook", "unspecified"),
    ("http://[::]/hook", "unspecified"),
    ("http://224.0.0.1/hook", "multicast"),
    ("http://100.64.0.1/hook", "non-public"),
    ("http://localhost:8000/hook", "loopback"),
    ("http://LocalHost/hook", "loopback"),
    ("http://2130706433/hook", "loopback"),  # 127.0.0.1 written as one number
]


@pytest.mark.parametrize(("url", "kind"), REFUSED)
async def test_a_webhook_to_a_non_public_address_is_refused(
    client: httpx.AsyncClient, actors: Actors, url: str, kind: str
) -> None:
    admin = await actors.admin()
    response = await client.post(
        f"{API}/webhooks", json={"url": url, "event_kinds": ["*"]}, headers=admin.headers
    )
    problem = assert_problem(response, 422)
    assert f"a {kind} address" in problem["detail"]
    assert problem["errors"][0]["loc"] == ["body", "url"]
    listed = expect(await client.get(f"{API}/webhooks", headers=admin.headers), 200)
    assert listed["items"] == []


async def test_moving_a_webhook_to_a_private_address_is_refused(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    admin = await actors.admin()
    hook = await create_webhook(client, admin, "https://93.184.215.14/hook")
    response = await client.patch(
        f"{API}/webhooks/{hook['id']}",
        json={"url": "http://169.254.169.254/latest/meta-data/"},
        headers=admin.headers,
    )
    assert "link-local" in assert_problem(response, 422)["detail"]
    read = expect(await client.get(f"{API}/webhooks/{hook['id']}", headers=admin.headers), 200)
    assert read["url"] == "https://93.184.215.14/hook"


async def test_an_allowed_host_may_be_private(
    hook_client: httpx.AsyncClient, actors: Actors, receiver: Receiver
) -> None:
    admin = await actors.admin()
    hook = await create_webhook(hook_client, admin, receiver.url())
    assert hook["url"].startswith("http://127.0.0.1:")
    # Allowed is 127.0.0.1 alone, not every private address.
    other = await hook_client.post(
        f"{API}/webhooks",
        json={"url": "http://10.0.0.1/hook", "event_kinds": ["*"]},
        headers=admin.headers,
    )
    assert "private" in assert_problem(other, 422)["detail"]


async def test_a_target_refused_when_sending_makes_the_delivery_dead_without_a_request(
    hook_client: httpx.AsyncClient,
    actors: Actors,
    receiver: Receiver,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    database_url: str,
    http: httpx.AsyncClient,
) -> None:
    """Saved while the operator allowed loopback; sent by a worker whose settings do not."""
    admin, agent = await actors.admin(), await actors.agent()
    hook = await create_webhook(hook_client, admin, receiver.url())
    await file_ticket(hook_client, agent)
    strict: DeliveryWorker = make_worker(settings, sessionmaker, database_url, http)
    await strict.run_until_idle()
    rows = await sql(
        sessionmaker,
        "SELECT status, last_error FROM notification_deliveries WHERE webhook_id = :id",
        id=hook["id"],
    )
    assert [r.status for r in rows] == ["dead"]
    assert "target refused" in rows[0].last_error
    assert "loopback" in rows[0].last_error
    assert receiver.requests == []


@pytest.mark.parametrize(
    "address",
    ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8", "2002:808:808::1"],
)
def test_public_addresses_pass(address: str) -> None:
    assert non_public_kind(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("2002:7f00:1::1", "loopback"),  # 6to4 around 127.0.0.1
        ("64:ff9b::a00:1", "private"),  # NAT64 around 10.0.0.1
        ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "private"),  # Teredo: client 10.0.0.1
        ("240.0.0.1", "reserved"),
        ("192.0.2.1", "private"),  # documentation
    ],
)
def test_addresses_wrapped_in_ipv6_are_unwrapped(address: str, kind: str) -> None:
    assert non_public_kind(ipaddress.ip_address(address)) == kind


def test_the_allowlist_is_read_from_a_comma_separated_setting() -> None:
    settings = Settings(
        webhook_allowed_hosts=" 127.0.0.1, hooks.internal ,10.1.0.0/16,[::1]",
    )
    policy = TargetPolicy.from_settings(settings)
    assert policy.hosts == frozenset({"hooks.internal"})
    assert [str(n) for n in policy.networks] == ["127.0.0.1/32", "10.1.0.0/16", "::1/128"]
    assert policy.permits_address(ipaddress.ip_address("10.1.2.3"))
    assert not policy.permits_address(ipaddress.ip_address("10.2.0.1"))
    assert policy.permits_host("Hooks.Internal.")


async def test_a_host_name_is_pinned_to_the_address_that_was_checked() -> None:
    policy = TargetPolicy(
        networks=(ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
    )
    target = await vet_target("http://localhost:8123/hook?x=1", policy)
    assert target.url.host in ("127.0.0.1", "::1")
    assert target.url.port == 8123
    assert target.url.path == "/hook"
    assert target.headers == {"host": "localhost:8123"}
    assert target.extensions == {}
    secure = await vet_target("https://localhost:8443/x", policy)
    assert secure.url.scheme == "https"
    assert secure.headers == {"host": "localhost:8443"}
    assert secure.extensions == {"sni_hostname": "localhost"}  # certificates checked as usual
    assert (await vet_target("https://127.0.0.1/x", policy)).headers == {}
    with pytest.raises(TargetRefused, match="loopback"):
        await vet_target("http://localhost/hook", TargetPolicy())
    everything = TargetPolicy(allow_private=True)
    assert (await vet_target("http://localhost/hook", everything)).url.host == "localhost"
