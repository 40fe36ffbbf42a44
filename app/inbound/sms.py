"""The SMS channel: texts as a Twilio-compatible provider posts them (form-encoded,
signed; the router checks the signature before anything is kept).

- A text is known by its MessageSid: the same one again answers the first outcome.
- Its sender is found, or made a customer, by their number (E.164); the number becomes
  their phone, so answers can go back by SMS.
- Texts from one number to the desk's number are one conversation (`channel_threads`):
  within `sms_thread_window_minutes` of the last one a text goes on the same ticket (or
  the primary it was merged into); later, or with no such ticket, the customer's newest
  open SMS ticket active within the window, else a new ticket.
- STOP and its synonyms (STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT) opt the
  number out of SMS; START, UNSTOP (and YES from an opted-out number) opt it back in.
  The outbox sends no SMS to an opted-out customer. Such a keyword records no message;
  staff see an internal `sms.consent_changed` on the conversation's open ticket.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.attachments.records import NewAttachment
from app.events.kinds import QUIET, EventKind
from app.events.recorder import record_event
from app.identities.normalise import IdentityRef, InvalidIdentity, normalise_phone
from app.identities.service import find_or_create_customer
from app.inbound import identify, recording
from app.inbound.conversations import find_thread, follow_thread, lock_thread
from app.inbound.intake import Decision, IncomingMessage, Refused, SenderIdentity
from app.inbound.pipeline import Arrival, Reading
from app.inbound.twilio import form_params
from app.models import (
    Channel,
    IdentityKind,
    IntakeOutcome,
    Ticket,
    TicketStatus,
    User,
    Visibility,
)
from app.tickets.merged import resolve_merged
from app.tickets.service import touch

CHANNEL = "sms"
CONNECTOR = "twilio"
SUBJECT_CHARS = 80
# Twilio's own opt-out and opt-in keywords: a text that is exactly one of them.
OPT_OUT = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
OPT_IN = frozenset({"START", "UNSTOP"})
# "Yes" is also an answer to a question: it opts in only a number that is opted out.
OPT_IN_WHEN_OUT = frozenset({"YES"})
MAX_MEDIA = 10


@dataclass(frozen=True, slots=True)
class _Text:
    sender: str  # E.164
    desk: str  # the number it was sent to
    body: str
    keyword: str


class SmsAdapter:
    channel = CHANNEL

    def __init__(self, search_config: str, window: timedelta) -> None:
        self.search_config = search_config
        self.window = window

    async def read(self, raw: bytes, arrival: Arrival) -> Reading:
        params = dict(form_params(raw))
        sid = params.get("MessageSid") or params.get("SmsSid") or ""
        body = _with_media(params.get("Body", ""), params)
        refused: Refused | None = None
        sender = params.get("From", "")
        try:
            sender = normalise_phone(sender)
        except InvalidIdentity as error:
            refused = Refused("bad_sender", f"the sender {sender[:64]!r} is not usable: {error}")
        if not sid:
            refused = Refused("unparseable", "the text has no MessageSid")
        return Reading(
            external_id=sid or f"no-sid/{len(raw)}",
            sender=sender[:64] or None,
            subject=_subject(body),
            refused=refused,
            payload=_Text(sender, params.get("To", "")[:64], body, _keyword(body)),
        )

    async def record(
        self,
        session: AsyncSession,
        reading: Reading,
        arrival: Arrival,
        files: Sequence[NewAttachment],
    ) -> Decision:
        text: _Text = reading.payload
        identity = IdentityRef(IdentityKind.PHONE, text.sender)
        thread_ref = f"{text.sender}>{text.desk}"
        await lock_thread(session, CONNECTOR, CHANNEL, thread_ref)
        thread = await find_thread(session, CONNECTOR, CHANNEL, thread_ref)
        now = datetime.now(UTC)
        sender = await identify.find_sender(session, _sender(text))
        consent = _consent(text.keyword, sender)
        if consent is not None:
            customer = sender or (await find_or_create_customer(session, identity)).user
            return await _change_consent(
                session, customer, text, consent, None if thread is None else thread.ticket_id
            )
        candidates: list[tuple[int, str]] = []
        if thread is not None and thread.last_inbound_at >= now - self.window:
            candidates.append((thread.ticket_id, "thread"))
        elif sender is not None:
            recent = await _recent_sms_ticket(session, sender.id, now - self.window)
            if recent is not None:
                candidates.append((recent, "recent"))
        message = IncomingMessage(
            channel=Channel.SMS,
            sender=_sender(text),
            subject=reading.subject or "",
            body=text.body,
            full_text=text.body,
        )
        decision = await recording.deliver(
            session, message, search_config=self.search_config, candidates=candidates
        )
        texter = sender or await identify.find_sender(session, _sender(text))
        if texter is not None and not texter.phone:
            texter.phone = text.sender  # answers can go back by SMS
        if decision.ticket_id is not None and texter is not None:
            await follow_thread(
                session,
                connector=CONNECTOR,
                integration_id=None,
                source=CHANNEL,
                thread_ref=thread_ref,
                ticket_id=decision.ticket_id,
                customer_id=texter.id,
                handle=text.sender,
                at=now,
            )
        return decision


def _sender(text: _Text) -> SenderIdentity:
    return SenderIdentity(IdentityKind.PHONE.value, text.sender)


def _keyword(body: str) -> str:
    words = body.split()
    return words[0].strip(".!").upper() if len(words) == 1 else ""


def _consent(keyword: str, sender: User | None) -> bool | None:
    """True: opt in; False: opt out; None: not a consent keyword."""
    if keyword in OPT_OUT:
        return False
    if keyword in OPT_IN:
        return True
    if keyword in OPT_IN_WHEN_OUT and sender is not None and sender.sms_opted_out_at is not None:
        return True
    return None


async def _change_consent(
    session: AsyncSession, customer: User, text: _Text, opted_in: bool, ticket_id: int | None
) -> Decision:
    now = datetime.now(UTC)
    customer.sms_opted_out_at = None if opted_in else (customer.sms_opted_out_at or now)
    if not customer.phone:
        customer.phone = text.sender
    state = "opted_in" if opted_in else "opted_out"
    recorded_on: int | None = None
    if ticket_id is not None:
        ticket = await session.scalar(
            select(Ticket)
            .where(Ticket.id == await resolve_merged(session, ticket_id))
            .with_for_update()
        )
        if ticket is not None and ticket.status is not TicketStatus.CLOSED:
            touch(ticket, now)
            await record_event(
                session,
                ticket,
                EventKind.SMS_CONSENT_CHANGED,
                actor=customer,
                visibility=Visibility.INTERNAL,
                data={"consent": state, "keyword": text.keyword, "phone": text.sender, QUIET: True},
            )
            recorded_on = ticket.id
    return Decision(
        IntakeOutcome.IGNORED,
        recorded_on,
        None,
        f"{text.keyword}: {text.sender} {state.replace('_', ' ')} of SMS",
        f"sms_{state}",
    )


async def _recent_sms_ticket(
    session: AsyncSession, customer_id: int, since: datetime
) -> int | None:
    ticket_id: int | None = await session.scalar(
        select(Ticket.id)
        .where(
            Ticket.requester_id == customer_id,
            Ticket.channel == Channel.SMS,
            Ticket.status.in_([TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING]),
            Ticket.updated_at >= since,
        )
        .order_by(Ticket.updated_at.desc(), Ticket.id.desc())
        .limit(1)
    )
    return ticket_id


def _with_media(body: str, params: dict[str, str]) -> str:
    """Pictures and files sent with a text stay at the provider: their links are kept
    with the text (fetching them needs the provider's credentials and time a webhook
    does not have)."""
    try:
        count = min(int(params.get("NumMedia", "0") or 0), MAX_MEDIA)
    except ValueError:
        count = 0
    links = [
        f"[{params.get(f'MediaContentType{i}', 'file')}] {params[f'MediaUrl{i}']}"
        for i in range(count)
        if params.get(f"MediaUrl{i}")
    ]
    return "\n".join([body, *links]) if links else body


def _subject(body: str) -> str:
    first = " ".join(body.split())
    if not first:
        return "A text message"
    return first if len(first) <= SUBJECT_CHARS else first[: SUBJECT_CHARS - 1] + "…"
