"""Customer sign-in by emailed link: one-time and short-lived, limited per address and
per client across processes, and never telling whether an address belongs to anyone."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy import event, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.main import create_app
from app.models import SignInLink, SignInRequest
from app.signin.config import configure as configure_sign_in
from app.signin.setup import mail_links
from tests.factories import Actors, assert_problem
from tests.feedback.conftest import Mailbox, text_of
from tests.merging.helpers import expect
from tests.tickets.helpers import API, Maker, set_active

_LINK = re.compile(r"http://127\.0\.0\.1:8000/sign-in\?token=(sl_[A-Za-z0-9_-]+)")
ASK = f"{API}/auth/email-link"
REDEEM = f"{API}/auth/email-link/redeem"


def token_in(message: EmailMessage) -> str:
    found = _LINK.search(text_of(message))
    assert found is not None, text_of(message)
    return found.group(1)


async def ask(anonymous: AsyncClient, email: str) -> Response:
    return await anonymous.post(ASK, json={"email": email})


async def links_mailed(sessionmaker: Maker, mailbox: Mailbox) -> None:
    """What the background does: mint the links for the queued requests, send them."""
    await mail_links(sessionmaker)
    await mailbox.deliver()


async def test_a_customer_signs_in_by_the_emailed_link_once(
    client: AsyncClient,
    anonymous: AsyncClient,
    actors: Actors,
    mailbox: Mailbox,
    sessionmaker: Maker,
) -> None:
    admin, customer = await actors.admin(), await actors.customer()
    made_by_admin = expect(
        await client.post(
            f"{API}/users/{customer.id}/tokens", json={"name": "portal"}, headers=admin.headers
        ),
        201,
    )["token"]

    asked = await ask(anonymous, customer.email.upper())
    assert asked.status_code == 202
    await links_mailed(sessionmaker, mailbox)
    [mail] = mailbox.to(customer.email)
    assert str(mail["Subject"]) == "Your sign-in link"
    assert "It works once" in text_of(mail)
    token = token_in(mail)

    before = datetime.now(UTC)
    signed_in = expect(await anonymous.post(REDEEM, json={"token": token}), 200)
    expires_at = datetime.fromisoformat(signed_in["expires_at"])
    assert before + timedelta(hours=167) < expires_at <= datetime.now(UTC) + timedelta(hours=168)
    me = expect(
        await anonymous.get(f"{API}/me", headers={"Authorization": f"Bearer {signed_in['token']}"}),
        200,
    )
    assert me["id"] == customer.id

    replayed = assert_problem(await anonymous.post(REDEEM, json={"token": token}), 400)
    assert replayed["type"] == "urn:helpdesk:problem:sign-in-link-invalid"
    # The admin's token and the customer's own keep working side by side.
    for secret in (made_by_admin, customer.token, signed_in["token"]):
        response = await anonymous.get(f"{API}/me", headers={"Authorization": f"Bearer {secret}"})
        assert response.status_code == 200
    tokens = expect(
        await client.get(f"{API}/users/{customer.id}/tokens", headers=admin.headers), 200
    )
    [link_token] = [t for t in tokens if t["name"] == "Sign-in link"]
    assert link_token["expires_at"] is not None


async def test_an_expired_a_forged_or_a_stale_link_signs_nobody_in(
    anonymous: AsyncClient, actors: Actors, mailbox: Mailbox, sessionmaker: Maker
) -> None:
    customer = await actors.customer()
    await ask(anonymous, customer.email)
    await links_mailed(sessionmaker, mailbox)
    token = token_in(mailbox.to(customer.email)[0])
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(SignInLink).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    answers = [
        await anonymous.post(REDEEM, json={"token": token}),
        await anonymous.post(REDEEM, json={"token": token[:-2] + "AA"}),
        await anonymous.post(REDEEM, json={"token": "hd_not-a-link"}),
    ]
    details = {assert_problem(answer, 400)["detail"] for answer in answers}
    assert len(details) == 1
    assert_problem(await anonymous.post(REDEEM, json={"token": ""}), 422)

    # A request that waited longer than a link lives is not mailed at all.
    await ask(anonymous, customer.email)
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(SignInRequest).values(created_at=datetime.now(UTC) - timedelta(hours=1))
        )
    await links_mailed(sessionmaker, mailbox)
    assert len(mailbox.to(customer.email)) == 1


async def test_probing_addresses_learns_nothing(
    anonymous: AsyncClient,
    actors: Actors,
    mailbox: Mailbox,
    sessionmaker: Maker,
    app: FastAPI,
    client: AsyncClient,
) -> None:
    admin, agent, customer, gone = (
        await actors.admin(),
        await actors.agent(),
        await actors.customer(),
        await actors.customer(),
    )
    await set_active(client, admin, gone.id, False)
    addresses = [customer.email, "nobody@nowhere.example", agent.email, admin.email, gone.email]
    answers = []
    for address in addresses:
        with _statements(app.state.engine) as statements:
            response = await ask(anonymous, address)
        answers.append((response.status_code, response.json(), _shape(statements)))
    # The same status, the same words, and the same database work for every address.
    assert all(answer == answers[0] for answer in answers), answers
    assert answers[0][0] == 202
    assert any("sign_in_requests" in statement for statement in answers[0][2])

    await links_mailed(sessionmaker, mailbox)
    assert len(mailbox.to(customer.email)) == 1
    for address in addresses[1:]:
        assert mailbox.to(address) == []
    async with sessionmaker() as session:
        links = await session.scalar(select(func.count()).select_from(SignInLink))
        queued = await session.scalar(select(func.count()).select_from(SignInRequest))
    assert (links, queued) == (1, 0)
    assert_problem(await anonymous.post(ASK, json={"email": "not an address"}), 422)


@pytest.fixture
def _reset_sign_in_config(settings: Settings) -> Iterator[None]:
    yield
    configure_sign_in(settings)  # the limits are per process: put the session's back


@pytest.fixture
async def two_processes(
    settings: Settings, _reset_sign_in_config: None
) -> AsyncIterator[tuple[AsyncClient, AsyncClient]]:
    """Two service instances, each with its own engine and memory, on one database, as
    two processes would be; with small limits."""
    limited = settings.model_copy(
        update={"sign_in_per_address_per_hour": 3, "sign_in_per_client_per_hour": 5}
    )
    apps = [create_app(limited), create_app(limited)]
    async with apps[0].router.lifespan_context(apps[0]), apps[1].router.lifespan_context(apps[1]):
        clients = [
            AsyncClient(
                transport=ASGITransport(app=a, client=("192.0.2.7", 5000)), base_url="http://t"
            )
            for a in apps
        ]
        async with clients[0], clients[1]:
            yield clients[0], clients[1]


async def test_limits_hold_across_processes(
    two_processes: tuple[AsyncClient, AsyncClient], actors: Actors
) -> None:
    one, other = two_processes
    customer = await actors.customer()
    statuses = [(await ask(c, customer.email)).status_code for c in (one, other, one, other)]
    assert statuses == [202, 202, 202, 429]
    refused = await ask(one, customer.email)
    assert_problem(refused, 429)
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    # Per client: other addresses from the same client, on either process.
    more = [
        (await ask(c, f"x{n}@example.com")).status_code for n, c in enumerate((one, other, one))
    ]
    assert more == [202, 202, 429]  # 3 earlier + 2 = the client's 5
    redeem = await other.post(REDEEM, json={"token": "sl_whatever"})
    assert redeem.status_code == 400  # redeeming has its own count, not yet spent


async def test_any_address_of_a_customer_works_and_the_link_goes_to_their_own(
    client: AsyncClient,
    anonymous: AsyncClient,
    actors: Actors,
    mailbox: Mailbox,
    sessionmaker: Maker,
) -> None:
    admin, customer, old = await actors.admin(), await actors.customer(), await actors.customer()
    expect(
        await client.post(
            f"{API}/users/{customer.id}/identities",
            json={"kind": "email", "value": "work@customers.example"},
            headers=admin.headers,
        ),
        201,
    )
    expect(
        await client.post(
            f"{API}/users/{old.id}/merge", json={"into_id": customer.id}, headers=admin.headers
        ),
        200,
    )
    await ask(anonymous, "work@customers.example")
    await ask(anonymous, old.email)  # merged into `customer`
    await links_mailed(sessionmaker, mailbox)
    assert mailbox.to("work@customers.example") == []
    assert mailbox.to(old.email) == []
    mails = mailbox.to(customer.email)
    assert len(mails) == 2
    signed_in = expect(await anonymous.post(REDEEM, json={"token": token_in(mails[1])}), 200)
    me = expect(
        await anonymous.get(f"{API}/me", headers={"Authorization": f"Bearer {signed_in['token']}"}),
        200,
    )
    assert me["id"] == customer.id


async def test_a_signed_in_customer_sees_only_their_own(
    anonymous: AsyncClient,
    actors: Actors,
    mailbox: Mailbox,
    sessionmaker: Maker,
    client: AsyncClient,
) -> None:
    customer, other = await actors.customer(), await actors.customer()
    theirs = expect(
        await client.post(
            f"{API}/tickets", json={"subject": "Mine", "description": "x"}, headers=other.headers
        ),
        201,
    )
    await ask(anonymous, customer.email)
    await links_mailed(sessionmaker, mailbox)
    signed = expect(
        await anonymous.post(REDEEM, json={"token": token_in(mailbox.to(customer.email)[0])}), 200
    )
    headers = {"Authorization": f"Bearer {signed['token']}"}
    assert_problem(await anonymous.get(f"{API}/tickets/{theirs['id']}", headers=headers), 404)


def _shape(statements: list[str]) -> list[str]:
    """The statements without their literal values."""
    return [re.sub(r"\s+", " ", s).strip() for s in statements]


class _statements:  # noqa: N801 - used as a context manager, reads as a phrase
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine.sync_engine
        self.seen: list[str] = []

    def _record(self, *args: Any) -> None:
        statement = args[2]
        if "api_tokens" not in statement:  # the anonymous client has no token anyway
            self.seen.append(statement)

    def __enter__(self) -> list[str]:
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self.seen

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)
