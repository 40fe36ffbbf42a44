"""API tokens: issued once, stored as a hash, refused once expired, revoked or orphaned."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.main import create_app
from app.models import ApiToken
from tests.factories import Actor, Actors, assert_problem


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def issue(client: AsyncClient, caller: Actor, user_id: int, **fields: Any) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/users/{user_id}/tokens",
        json={"name": "laptop", **fields},
        headers=caller.headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def listed_tokens(client: AsyncClient, caller: Actor, user_id: int) -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/users/{user_id}/tokens", headers=caller.headers)
    assert response.status_code == 200, response.text
    tokens: list[dict[str, Any]] = response.json()
    return tokens


# Issuing


async def test_admin_issues_a_token_for_someone_else(client: AsyncClient, actors: Actors) -> None:
    admin, agent = await actors.admin(), await actors.agent()

    created = await issue(client, admin, agent.id, name="CI runner")

    assert created["name"] == "CI runner"
    assert created["token"].startswith("hd_")
    assert created["expires_at"] is None
    me = await client.get("/api/v1/me", headers=bearer(created["token"]))
    assert me.status_code == 200, me.text
    assert me.json()["id"] == agent.id


async def test_a_customer_issues_a_token_for_themselves(
    client: AsyncClient, actors: Actors
) -> None:
    customer = await actors.customer()

    created = await issue(client, customer, customer.id)

    me = await client.get("/api/v1/me", headers=bearer(created["token"]))
    assert me.json()["id"] == customer.id


async def test_non_admins_may_not_issue_tokens_for_others(
    client: AsyncClient, actors: Actors
) -> None:
    target = await actors.agent()
    for caller in (
        await actors.supervisor(),
        await actors.agent(),
        await actors.customer(),
        await actors.integration(),
    ):
        response = await client.post(
            f"/api/v1/users/{target.id}/tokens", json={"name": "x"}, headers=caller.headers
        )
        assert_problem(response, 403)
    assert len(await listed_tokens(client, target, target.id)) == 1  # only the factory's


async def test_issuing_for_an_unknown_user_is_404(client: AsyncClient, actors: Actors) -> None:
    admin = await actors.admin()

    response = await client.post(
        "/api/v1/users/999999/tokens", json={"name": "x"}, headers=admin.headers
    )

    assert_problem(response, 404)


async def test_a_deactivated_user_gets_no_new_tokens(client: AsyncClient, actors: Actors) -> None:
    admin, agent = await actors.admin(), await actors.agent()
    await client.patch(f"/api/v1/users/{agent.id}", json={"active": False}, headers=admin.headers)

    response = await client.post(
        f"/api/v1/users/{agent.id}/tokens", json={"name": "x"}, headers=admin.headers
    )

    assert_problem(response, 422)


async def test_the_secret_is_shown_once_and_never_listed(
    client: AsyncClient, actors: Actors
) -> None:
    agent = await actors.agent()
    created = await issue(client, agent, agent.id, name="phone")

    tokens = await listed_tokens(client, agent, agent.id)

    listed = next(token for token in tokens if token["id"] == created["id"])
    assert listed["name"] == "phone"
    assert listed["user_id"] == agent.id
    assert "token" not in listed
    assert created["token"] not in str(tokens)


async def test_only_the_sha256_of_the_token_is_stored(
    client: AsyncClient, actors: Actors, session: AsyncSession
) -> None:
    agent = await actors.agent()
    created = await issue(client, agent, agent.id)

    row = await session.get_one(ApiToken, created["id"])

    assert row.token_hash == hashlib.sha256(created["token"].encode()).digest()
    assert created["token"].encode() not in row.token_hash


async def test_last_used_at_is_set_when_the_token_is_used(
    client: AsyncClient, actors: Actors
) -> None:
    admin, agent = await actors.admin(), await actors.agent()
    created = await issue(client, admin, agent.id)
    before = await listed_tokens(client, admin, agent.id)
    assert next(t for t in before if t["id"] == created["id"])["last_used_at"] is None

    await client.get("/api/v1/me", headers=bearer(created["token"]))

    after = await listed_tokens(client, admin, agent.id)
    used = datetime.fromisoformat(
        next(t for t in after if t["id"] == created["id"])["last_used_at"]
    )
    assert abs(datetime.now(UTC) - used) < timedelta(minutes=1)


async def test_a_future_expiry_is_kept(client: AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()
    expires_at = datetime.now(UTC) + timedelta(days=30)

    created = await issue(client, agent, agent.id, expires_at=expires_at.isoformat())

    assert datetime.fromisoformat(created["expires_at"]) == expires_at
    me = await client.get("/api/v1/me", headers=bearer(created["token"]))
    assert me.status_code == 200


async def test_an_expiry_in_the_past_is_422(client: AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()
    yesterday = datetime.now(UTC) - timedelta(days=1)

    response = await client.post(
        f"/api/v1/users/{agent.id}/tokens",
        json={"name": "x", "expires_at": yesterday.isoformat()},
        headers=agent.headers,
    )

    assert_problem(response, 422)


async def test_an_expiry_without_a_time_zone_is_422(client: AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()

    response = await client.post(
        f"/api/v1/users/{agent.id}/tokens",
        json={"name": "x", "expires_at": "2999-01-01T00:00:00"},
        headers=agent.headers,
    )

    body = assert_problem(response, 422)
    assert ["body", "expires_at"] in [error["loc"] for error in body["errors"]]


# Using


async def test_an_expired_token_is_401(
    client: AsyncClient, actors: Actors, session: AsyncSession
) -> None:
    agent = await actors.agent()
    created = await issue(client, agent, agent.id)
    await session.execute(
        update(ApiToken)
        .where(ApiToken.id == created["id"])
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    await session.commit()

    response = await client.get("/api/v1/me", headers=bearer(created["token"]))

    body = assert_problem(response, 401)
    assert "expired" in body["detail"]
    assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_a_missing_authorization_header_is_401_with_a_challenge(
    client: AsyncClient, actors: Actors
) -> None:
    response = await client.get("/api/v1/me")

    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_an_unknown_token_is_401(client: AsyncClient, actors: Actors) -> None:
    await actors.agent()

    response = await client.get("/api/v1/me", headers=bearer("hd_not-a-real-token"))

    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_basic_credentials_are_401_even_if_they_hold_a_valid_token(
    client: AsyncClient, actors: Actors
) -> None:
    agent = await actors.agent()

    response = await client.get("/api/v1/me", headers={"Authorization": f"Basic {agent.token}"})

    assert_problem(response, 401)


async def test_an_empty_bearer_is_401(client: AsyncClient, actors: Actors) -> None:
    await actors.agent()

    response = await client.get("/api/v1/me", headers={"Authorization": "Bearer "})

    assert_problem(response, 401)


async def test_a_deactivated_users_tokens_stop_working(client: AsyncClient, actors: Actors) -> None:
    admin, agent = await actors.admin(), await actors.agent()
    assert (await client.get("/api/v1/me", headers=agent.headers)).status_code == 200

    deactivate = await client.patch(
        f"/api/v1/users/{agent.id}", json={"active": False}, headers=admin.headers
    )
    assert deactivate.status_code == 200, deactivate.text

    body = assert_problem(await client.get("/api/v1/me", headers=agent.headers), 401)
    assert "deactivated" in body["detail"]


async def test_someone_who_left_does_not_get_their_old_tokens_back(
    client: AsyncClient, actors: Actors
) -> None:
    admin, agent = await actors.admin(), await actors.agent()
    await issue(client, admin, agent.id)
    url = f"/api/v1/users/{agent.id}"
    deactivated = await client.patch(url, json={"active": False}, headers=admin.headers)
    reactivated = await client.patch(url, json={"active": True}, headers=admin.headers)
    assert reactivated.status_code == 200, reactivated.text

    # Each answer says what happened to the tokens.
    assert (deactivated.json()["tokens_revoked"], deactivated.json()["active_tokens"]) == (2, 0)
    assert (reactivated.json()["tokens_revoked"], reactivated.json()["active_tokens"]) == (0, 0)

    body = assert_problem(await client.get("/api/v1/me", headers=agent.headers), 401)
    assert "revoked" in body["detail"]


# Revoking


async def test_revoking_a_token_makes_it_401(client: AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()
    created = await issue(client, agent, agent.id)

    response = await client.delete(f"/api/v1/tokens/{created['id']}", headers=agent.headers)

    assert response.status_code == 204, response.text
    body = assert_problem(await client.get("/api/v1/me", headers=bearer(created["token"])), 401)
    assert "revoked" in body["detail"]
    assert (await client.get("/api/v1/me", headers=agent.headers)).status_code == 200


async def test_a_revoked_token_is_listed_with_its_revocation_time(
    client: AsyncClient, actors: Actors
) -> None:
    agent = await actors.agent()
    created = await issue(client, agent, agent.id)

    await client.delete(f"/api/v1/tokens/{created['id']}", headers=agent.headers)

    listed = next(
        t for t in await listed_tokens(client, agent, agent.id) if t["id"] == created["id"]
    )
    assert listed["revoked_at"] is not None


async def test_revoking_twice_is_harmless(client: AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()
    created = await issue(client, agent, agent.id)
    await client.delete(f"/api/v1/tokens/{created['id']}", headers=agent.headers)

    again = await client.delete(f"/api/v1/tokens/{created['id']}", headers=agent.headers)

    assert again.status_code == 204


async def test_a_token_can_revoke_itself(client: AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()
    created = await issue(client, agent, agent.id)

    response = await client.delete(
        f"/api/v1/tokens/{created['id']}", headers=bearer(created["token"])
    )

    assert response.status_code == 204
    assert_problem(await client.get("/api/v1/me", headers=bearer(created["token"])), 401)


async def test_an_admin_revokes_anyones_token(client: AsyncClient, actors: Actors) -> None:
    admin, agent = await actors.admin(), await actors.agent()
    created = await issue(client, agent, agent.id)

    response = await client.delete(f"/api/v1/tokens/{created['id']}", headers=admin.headers)

    assert response.status_code == 204
    assert_problem(await client.get("/api/v1/me", headers=bearer(created["token"])), 401)


async def test_revoking_someone_elses_token_is_404_and_changes_nothing(
    client: AsyncClient, actors: Actors
) -> None:
    owner = await actors.agent()
    created = await issue(client, owner, owner.id)
    for stranger in (await actors.supervisor(), await actors.agent(), await actors.customer()):
        response = await client.delete(f"/api/v1/tokens/{created['id']}", headers=stranger.headers)
        assert_problem(response, 404)

    assert (await client.get("/api/v1/me", headers=bearer(created["token"]))).status_code == 200


async def test_revoking_an_unknown_token_is_404(client: AsyncClient, actors: Actors) -> None:
    admin = await actors.admin()

    assert_problem(await client.delete("/api/v1/tokens/999999", headers=admin.headers), 404)


async def test_a_non_admin_may_not_list_someone_elses_tokens(
    client: AsyncClient, actors: Actors
) -> None:
    agent, other = await actors.agent(), await actors.agent()

    response = await client.get(f"/api/v1/users/{other.id}/tokens", headers=agent.headers)

    assert_problem(response, 403)


# How many


@pytest.fixture
async def capped_client(settings: Settings) -> AsyncIterator[AsyncClient]:
    """A client over an app that lets each user hold three active tokens."""
    app = create_app(settings.model_copy(update={"max_tokens_per_user": 3}))
    async with app.router.lifespan_context(app):
        transport = ASGITransport(app=app)
        async with AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


async def test_a_user_holds_a_bounded_number_of_active_tokens(
    capped_client: AsyncClient, actors: Actors
) -> None:
    customer = await actors.customer()  # holds one token already
    await issue(capped_client, customer, customer.id)
    await issue(capped_client, customer, customer.id)

    response = await capped_client.post(
        f"/api/v1/users/{customer.id}/tokens", json={"name": "4th"}, headers=customer.headers
    )

    body = assert_problem(response, 409)
    assert body["active_tokens"] == 3
    assert body["max_active_tokens"] == 3
    assert len(await listed_tokens(capped_client, customer, customer.id)) == 3


async def test_revoked_and_expired_tokens_leave_room_for_new_ones(
    capped_client: AsyncClient, actors: Actors, session: AsyncSession
) -> None:
    customer = await actors.customer()
    spare = await issue(capped_client, customer, customer.id)
    expiring = await issue(capped_client, customer, customer.id)
    await capped_client.delete(f"/api/v1/tokens/{spare['id']}", headers=customer.headers)
    await session.execute(
        update(ApiToken)
        .where(ApiToken.id == expiring["id"])
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    await session.commit()

    await issue(capped_client, customer, customer.id)
    await issue(capped_client, customer, customer.id)
