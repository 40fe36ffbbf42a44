"""Random input at the merge, link, bulk, identity and sign-in endpoints: never a 500,
every error a problem."""

from __future__ import annotations

import itertools

from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.factories import Actors
from tests.foundation.test_fuzz import bodies, fuzz, ints, send
from tests.tickets.helpers import file_ticket

# Fewer examples than the people endpoints get: these are several endpoints per example.
fuzz = settings(fuzz, max_examples=40)

some_ids = st.sampled_from([1, 2, 3]) | ints
BULK = {
    "ids": st.lists(some_ids, max_size=4),
    "versions": st.dictionaries(
        st.sampled_from(["1", "2", "x", "-1", "99999999999999999999"]), ints
    ),
    "status": st.fixed_dictionaries({"status": st.sampled_from(["open", "closed", "bogus"])}),
    "tags": st.fixed_dictionaries({"add": st.lists(st.text(max_size=60), max_size=3)}),
}
MERGE = {"into_id": some_ids, "into_version": ints, "note": st.text(max_size=20)}
LINK = {"problem_id": some_ids}
IDENTITY = {
    "kind": st.sampled_from(["email", "phone", "handle", "fax"]),
    "value": st.text(max_size=40) | st.sampled_from(["+39 333 123 4567", "a@b.example", "\ud800"]),
    "source": st.none() | st.text(max_size=40),
}
SIGN_IN = {"email": st.emails() | st.text(max_size=30), "token": st.text(max_size=40)}
_clients = itertools.count(1)


@fuzz
@given(merge=bodies(MERGE), link=bodies(LINK), bulk=bodies(BULK), identity=bodies(IDENTITY))
async def test_staff_endpoints_never_fail_on_our_side(
    client: AsyncClient, actors: Actors, merge: bytes, link: bytes, bulk: bytes, identity: bytes
) -> None:
    admin = await actors.admin()
    await file_ticket(client, admin)
    await send(client, admin, "POST", "/api/v1/tickets/1/merge", merge)
    await send(client, admin, "POST", "/api/v1/tickets/2/link", link)
    await send(client, admin, "POST", "/api/v1/tickets/bulk", bulk)
    await send(client, admin, "POST", f"/api/v1/users/{admin.id}/identities", identity)


@fuzz
@given(ask=bodies(SIGN_IN), redeem=bodies(SIGN_IN))
async def test_sign_in_never_fails_on_our_side(
    app: FastAPI, actors: Actors, ask: bytes, redeem: bytes
) -> None:
    n = next(_clients)
    transport = ASGITransport(app=app, client=(f"198.51.{n >> 8 & 255}.{n & 255}", 1))
    caller = await actors.customer()
    async with AsyncClient(transport=transport, base_url="http://t") as anonymous:
        await send(anonymous, caller, "POST", "/api/v1/auth/email-link", ask)
        await send(anonymous, caller, "POST", "/api/v1/auth/email-link/redeem", redeem)
