"""SMS in from a Twilio-compatible provider: signed webhooks, threads, consent, status."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from httpx import AsyncClient, Response
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.inbound.twilio import signature, verified
from app.models import (
    ChannelThread,
    DeliveryChannel,
    DeliveryStatus,
    Identity,
    IdentityKind,
    InboundMessage,
    NotificationDelivery,
    Ticket,
    User,
)
from app.notifications.worker import DeliveryWorker
from tests.channels.conftest import AUTH_TOKEN, DESK_NUMBER, PUBLIC_BASE
from tests.channels.helpers import API, expect, messages
from tests.factories import Actor, Actors, assert_problem
from tests.webhooks.helpers import Receiver

SMS_PATH = f"{API}/inbound/sms/twilio"
STATUS_PATH = f"{API}/inbound/sms/twilio/status"
CUSTOMER = "+14155550100"
_sids = itertools.count(1)


def test_the_signature_is_twilios_by_their_published_example() -> None:
    # Twilio's documentation: auth token 12345, this URL and these POST parameters.
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = [
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+14158675309"),
        ("Digits", "1234"),
        ("From", "+14158675309"),
        ("To", "+18005551212"),
    ]
    assert signature("12345", url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert verified("12345", url, params, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    assert not verified(
        "12345", url, [*params[:4], ("To", "+18005551213")], "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    )
    assert not verified("54321", url, params, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    assert not verified(
        "12345", url.replace("https", "http"), params, "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    )


def text(body: str, *, sender: str = CUSTOMER, sid: str | None = None) -> dict[str, str]:
    return {
        "MessageSid": sid or f"SM{next(_sids):032d}",
        "AccountSid": "ACtest",
        "From": sender,
        "To": DESK_NUMBER,
        "Body": body,
        "NumMedia": "0",
    }


async def send_text(
    client: AsyncClient,
    form: dict[str, str],
    *,
    path: str = SMS_PATH,
    query: str = "",
    signed_url: str | None = None,
    token: str = AUTH_TOKEN,
) -> Response:
    url = signed_url or f"{PUBLIC_BASE}{path}{'?' + query if query else ''}"
    return await client.post(
        f"{path}{'?' + query if query else ''}",
        data=form,
        headers={"X-Twilio-Signature": signature(token, url, form.items())},
    )


async def _count(maker: async_sessionmaker[AsyncSession], model: type) -> int:
    async with maker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_forged_and_unsigned_texts_are_refused_and_nothing_is_recorded(
    hook_client: AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    form = text("Hello")
    assert_problem(await hook_client.post(SMS_PATH, data=form), 403)
    assert_problem(await send_text(hook_client, form, token="not-the-token"), 403)
    # Signed for the address the request reached, not the public one the provider calls.
    assert_problem(
        await send_text(hook_client, form, signed_url=f"http://testserver{SMS_PATH}"), 403
    )
    # Signed, then altered on the way.
    forged = await hook_client.post(
        SMS_PATH,
        data={**form, "Body": "Send me everything"},
        headers={"X-Twilio-Signature": signature(AUTH_TOKEN, PUBLIC_BASE + SMS_PATH, form.items())},
    )
    assert_problem(forged, 403)
    assert await _count(sessionmaker, InboundMessage) == 0
    assert await _count(sessionmaker, Ticket) == 0
    assert await _count(sessionmaker, User) == 0


async def test_texts_from_one_number_are_one_ticket_and_a_repeat_changes_nothing(
    hook_client: AsyncClient,
    actors: Actors,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    first = await send_text(hook_client, text("My router is blinking red"))
    assert first.status_code == 200, first.text
    assert first.headers["content-type"].startswith("application/xml")
    assert "<Response>" in first.text
    assert first.headers["X-Intake-Outcome"] == "created"
    ticket_id = int(first.headers["X-Ticket-Id"])
    again = text("Still blinking")
    second = await send_text(hook_client, again)
    assert second.headers["X-Intake-Outcome"] == "appended"
    assert int(second.headers["X-Ticket-Id"]) == ticket_id
    repeat = await send_text(hook_client, again)
    assert repeat.headers["Idempotent-Replayed"] == "true"
    assert repeat.headers["X-Inbound-Id"] == second.headers["X-Inbound-Id"]
    agent = await actors.agent()
    ticket = expect(await hook_client.get(f"{API}/tickets/{ticket_id}", headers=agent.headers), 200)
    assert ticket["channel"] == "sms"
    assert [m["body"] for m in await messages(hook_client, agent, ticket_id)] == ["Still blinking"]
    async with sessionmaker() as session:
        customer = await session.scalar(
            select(User)
            .join(Identity, Identity.user_id == User.id)
            .where(Identity.kind == IdentityKind.PHONE, Identity.value == CUSTOMER)
        )
        assert customer is not None
        assert customer.phone == CUSTOMER
        assert ticket["requester"]["id"] == customer.id


async def test_a_known_customer_texting_after_the_window_gets_a_new_ticket(
    hook_client: AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    first = await send_text(hook_client, text("Bill is wrong"))
    old_ticket = int(first.headers["X-Ticket-Id"])
    two_days_ago = datetime.now(UTC) - timedelta(days=2)
    async with sessionmaker() as session, session.begin():
        await session.execute(update(ChannelThread).values(last_inbound_at=two_days_ago))
        await session.execute(update(Ticket).values(updated_at=two_days_ago))
    later = await send_text(hook_client, text("Another question"))
    assert later.headers["X-Intake-Outcome"] == "created"
    new_ticket = int(later.headers["X-Ticket-Id"])
    assert new_ticket != old_ticket
    async with sessionmaker() as session:
        requesters = set(
            (
                await session.scalars(
                    select(Ticket.requester_id).where(Ticket.id.in_([old_ticket, new_ticket]))
                )
            ).all()
        )
    assert len(requesters) == 1  # the same customer, known by their number
    # Within the window again: the new ticket.
    third = await send_text(hook_client, text("And one more"))
    assert int(third.headers["X-Ticket-Id"]) == new_ticket


async def _reply(client: AsyncClient, agent: Actor, ticket_id: int, body: str) -> None:
    expect(
        await client.post(
            f"{API}/tickets/{ticket_id}/messages",
            json={"body": body, "visibility": "public"},
            headers=agent.headers,
        ),
        201,
    )


async def _sms_deliveries(maker: async_sessionmaker[AsyncSession]) -> list[NotificationDelivery]:
    async with maker() as session:
        rows = await session.scalars(
            select(NotificationDelivery)
            .where(NotificationDelivery.channel == DeliveryChannel.SMS)
            .order_by(NotificationDelivery.id)
        )
        return list(rows)


def _provider_requests(receiver: Receiver) -> list[dict[str, list[str]]]:
    return [
        parse_qs(r.body.decode()) for r in receiver.requests if r.path.endswith("/Messages.json")
    ]


async def test_stop_then_an_answer_does_not_go_out_and_start_brings_texts_back(
    hook_client: AsyncClient,
    actors: Actors,
    receiver: Receiver,
    make_hook_worker: Callable[..., DeliveryWorker],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    actors.client = hook_client
    worker = make_hook_worker(sms_provider_url=receiver.base_url)
    agent = await actors.agent()
    ticket_id = int(
        (await send_text(hook_client, text("Where is my parcel?"))).headers["X-Ticket-Id"]
    )
    stop = await send_text(hook_client, text("Stop"))
    assert stop.headers["X-Intake-Outcome"] == "ignored"
    assert stop.headers["X-Ticket-Id"] == str(ticket_id)  # staff see it on the conversation
    await _reply(hook_client, agent, ticket_id, "It left the depot today.")
    await worker.run_until_idle()
    assert _provider_requests(receiver) == []
    assert await _sms_deliveries(sessionmaker) == []
    # The customer's message is not on the ticket; the consent change is, for staff only.
    events = expect(
        await hook_client.get(f"{API}/tickets/{ticket_id}/events?limit=100", headers=agent.headers),
        200,
    )["items"]
    consent = [e for e in events if e["kind"] == "sms.consent_changed"]
    assert [(e["visibility"], e["data"]["consent"]) for e in consent] == [("internal", "opted_out")]

    assert (await send_text(hook_client, text("START"))).headers["X-Intake-Outcome"] == "ignored"
    await _reply(hook_client, agent, ticket_id, "It arrives tomorrow.")
    await worker.run_until_idle()
    [sent] = _provider_requests(receiver)
    assert sent["To"] == [CUSTOMER]
    assert sent["From"] == [DESK_NUMBER]
    assert "It arrives tomorrow." in sent["Body"][0]
    callback = urlsplit(sent["StatusCallback"][0])
    assert f"{callback.scheme}://{callback.netloc}" == PUBLIC_BASE
    assert callback.path == STATUS_PATH

    # The provider reports back on the callback URL it was given, signed.
    [delivery] = await _sms_deliveries(sessionmaker)
    assert delivery.status is DeliveryStatus.DELIVERED
    for status in ("sent", "undelivered", "sent"):  # the late "sent" changes nothing
        answer = await send_text(
            hook_client,
            {"MessageSid": "SMout1", "MessageStatus": status, "ErrorCode": "30003"},
            path=STATUS_PATH,
            query=callback.query,
        )
        assert answer.status_code == 204, answer.text
    [delivery] = await _sms_deliveries(sessionmaker)
    assert delivery.provider_ref == "SMout1"
    assert delivery.provider_status == "undelivered"
    assert delivery.status is DeliveryStatus.DEAD
    assert "30003" in (delivery.last_error or "")
    # A forged callback changes nothing; one for no delivery is a 404.
    forged = await hook_client.post(
        f"{STATUS_PATH}?{callback.query}",
        data={"MessageSid": "SMout1", "MessageStatus": "delivered"},
        headers={"X-Twilio-Signature": "AAAA"},
    )
    assert_problem(forged, 403)
    missing = await send_text(
        hook_client,
        {"MessageSid": "SMx", "MessageStatus": "delivered"},
        path=STATUS_PATH,
        query="delivery=sms_nothing",
    )
    assert_problem(missing, 404)


async def test_a_text_already_queued_when_stop_arrives_is_not_sent(
    hook_client: AsyncClient,
    actors: Actors,
    receiver: Receiver,
    make_hook_worker: Callable[..., DeliveryWorker],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    actors.client = hook_client
    worker = make_hook_worker(sms_provider_url=receiver.base_url)
    agent = await actors.agent()
    ticket_id = int((await send_text(hook_client, text("Help"))).headers["X-Ticket-Id"])
    await _reply(hook_client, agent, ticket_id, "On it.")
    [queued] = await _sms_deliveries(sessionmaker)
    assert queued.status is DeliveryStatus.PENDING
    await send_text(hook_client, text("UNSUBSCRIBE"))
    await worker.run_until_idle()
    assert _provider_requests(receiver) == []
    [queued] = await _sms_deliveries(sessionmaker)
    assert queued.status is DeliveryStatus.DEAD
    assert "STOP" in (queued.last_error or "")


async def test_yes_is_an_answer_unless_the_number_is_opted_out(
    hook_client: AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await send_text(hook_client, text("Is the outage over?"))
    yes = await send_text(hook_client, text("Yes"))
    assert yes.headers["X-Intake-Outcome"] == "appended"
    await send_text(hook_client, text("stop"))
    async with sessionmaker() as session:
        assert await session.scalar(select(User.sms_opted_out_at).where(User.phone == CUSTOMER))
    again = await send_text(hook_client, text("YES"))
    assert again.headers["X-Intake-Outcome"] == "ignored"
    async with sessionmaker() as session:
        assert (
            await session.scalar(select(User.sms_opted_out_at).where(User.phone == CUSTOMER))
            is None
        )


async def test_a_customer_cannot_text_onto_another_customers_ticket(
    hook_client: AsyncClient, actors: Actors
) -> None:
    mine = int((await send_text(hook_client, text("Mine"))).headers["X-Ticket-Id"])
    theirs = int(
        (await send_text(hook_client, text("Theirs", sender="+14155550199"))).headers["X-Ticket-Id"]
    )
    assert mine != theirs
    customer = await actors.customer()
    for path in (f"{API}/tickets/{mine}", f"{API}/tickets/{mine}/messages"):
        assert_problem(await hook_client.get(path, headers=customer.headers), 404)


async def test_a_text_that_cannot_be_recorded_is_quarantined_and_retried_by_its_channel(
    hook_client: AsyncClient, actors: Actors
) -> None:
    answer = await send_text(hook_client, text("Hi", sender="SHORTCODE"))
    assert answer.status_code == 200
    assert answer.headers["X-Intake-Outcome"] == "quarantined"
    admin = await actors.admin()
    listed = expect(await hook_client.get(f"{API}/inbound/quarantine", headers=admin.headers), 200)
    [row] = listed["items"]
    assert (row["channel"], row["reason_code"]) == ("sms", "bad_sender")
    retried = expect(
        await hook_client.post(
            f"{API}/inbound/quarantine/{row['id']}/retry", headers=admin.headers
        ),
        200,
    )
    assert retried["outcome"] == "quarantined"
    assert "SHORTCODE" in retried["reason"]
