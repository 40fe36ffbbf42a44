"""HTTP for customer sign-in: ask for a link, redeem it. Neither needs a token; both are
limited per client (and asking, per address) across every process."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request, status

from app.common.openapi import problems
from app.db import DbSession
from app.signin import service
from app.signin.schemas import LinkRedeem, LinkRequest, LinkRequested, SignedIn

router = APIRouter(tags=["sign-in"])

_ACCEPTED = (
    "If this address belongs to a customer, a sign-in link is on its way. "
    "It works once and for a short time."
)


def _client(request: Request) -> str:
    # The peer address; behind a reverse proxy, `serve --proxy-headers` makes it the
    # client's own (uvicorn reads X-Forwarded-For from trusted proxies).
    return request.client.host if request.client else "unknown"


@router.post(
    "/auth/email-link",
    status_code=status.HTTP_202_ACCEPTED,
    responses=problems(422, 429),
)
async def request_email_link(
    request: Request, session: DbSession, data: LinkRequest
) -> LinkRequested:
    """Mail a one-time sign-in link to a customer's address. The answer is 202 for every
    address: it never tells whether one belongs to a customer."""
    email = data.email.lower()
    await service.request_link(session, email, _client(request), datetime.now(UTC))
    return LinkRequested(detail=_ACCEPTED)


@router.post("/auth/email-link/redeem", responses=problems(400, 422, 429))
async def redeem_email_link(request: Request, session: DbSession, data: LinkRedeem) -> SignedIn:
    """Exchange the emailed link's token, once and before it expires, for an API token of
    the customer (with its expiry). Any link that is not valid, for whatever reason, is
    the same 400."""
    token, secret = await service.redeem(session, data.token, _client(request), datetime.now(UTC))
    assert token.expires_at is not None
    return SignedIn(token=secret, expires_at=token.expires_at)
