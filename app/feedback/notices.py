"""What feedback tells people, and how it is worded (English and Italian).

Four notices of our own go through the outbox as personal notices: the survey
invitation, the low-rating alert for supervisors, the receipt of a feedback record and
each step of its lifecycle. The owner's notice about the timeline's `feedback.received`
event is worded here too. The survey link is re-derived from the nonce at send time,
so the outbox never holds a usable token.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from app.events.kinds import EventKind
from app.feedback.config import FeedbackConfig
from app.feedback.tokens import survey_token
from app.models import Feedback, SatisfactionSurvey, Ticket, User
from app.notifications.outbox import PersonalNotice, enqueue_personal_notice
from app.notifications.render import Block, register_renderer
from app.notifications.rules import NoticeTopic

SURVEY_INVITATION = "satisfaction.invitation"
LOW_RATING = "satisfaction.low_rating"
FEEDBACK_FILED = "feedback.filed"
FEEDBACK_STATUS = "feedback.status_changed"

_EN: Final[dict[str, str]] = {
    "question": "How satisfied are you with how we handled your request?",
    "invitation": "How did we do? Please rate how we handled your request #{ticket_id} "
    "\u201c{subject}\u201d from 1 (poor) to 5 (great), with a comment if you like. "
    "No login is needed; the link works once, until {until}:",
    "invitation_portal": "How did we do? Please rate how we handled your request "
    "#{ticket_id} \u201c{subject}\u201d from 1 (poor) to 5 (great) in the portal.",
    "low_rating": "Low satisfaction: {customer} rated #{ticket_id} \u201c{subject}\u201d "
    "{rating}/5 (owner: {owner}).",
    "rated": "{actor} rated request #{ticket_id} {rating}/5.",
    "recorded": "{actor} recorded a {kind} on #{ticket_id}.",
    "filed": "Thank you: we have received your feedback ({kind}, ref. F-{id}). "
    "We will let you know what becomes of it.",
    "filed_complaint": "We have received your complaint (ref. F-{id}) and will handle it "
    "with priority.",
    "filed_praise": "Thank you for your kind words (ref. F-{id}): we will pass them on "
    "to the team.",
    "status_acknowledged": "Your feedback ({kind}, ref. F-{id}) has been acknowledged: "
    "we are looking at it.",
    "status_planned": "Your feedback ({kind}, ref. F-{id}) is now planned.",
    "status_done": "Your feedback ({kind}, ref. F-{id}) has been acted on: it is done.",
    "status_declined": "We have decided not to take your feedback ({kind}, ref. F-{id}) forward.",
    "status_new": "Your feedback ({kind}, ref. F-{id}) is with us.",
    "response": "Our response:",
    "nobody": "nobody",
    "complaint": "complaint",
    "suggestion": "suggestion",
    "improvement_request": "improvement request",
    "praise": "praise",
}

_IT: Final[dict[str, str]] = {
    "question": "Quanto sei soddisfatto di come abbiamo gestito la tua richiesta?",
    "invitation": "Come siamo andati? Valuta da 1 (scarso) a 5 (ottimo) come abbiamo "
    "gestito la tua richiesta #{ticket_id} \u201c{subject}\u201d, con un commento se vuoi. "
    "Non serve accedere; il link vale una volta, fino al {until}:",
    "invitation_portal": "Come siamo andati? Valuta da 1 (scarso) a 5 (ottimo) come "
    "abbiamo gestito la tua richiesta #{ticket_id} \u201c{subject}\u201d nel portale.",
    "low_rating": "Soddisfazione bassa: {customer} ha valutato #{ticket_id} "
    "\u201c{subject}\u201d {rating}/5 (assegnatario: {owner}).",
    "rated": "{actor} ha valutato la richiesta #{ticket_id} {rating}/5.",
    "recorded": "{actor} ha registrato un feedback ({kind}) su #{ticket_id}.",
    "filed": "Grazie: abbiamo ricevuto la tua segnalazione ({kind}, rif. F-{id}). "
    "Ti faremo sapere come procede.",
    "filed_complaint": "Abbiamo ricevuto il tuo reclamo (rif. F-{id}) e lo tratteremo "
    "con priorità.",
    "filed_praise": "Grazie per le tue parole (rif. F-{id}): le condivideremo con il team.",
    "status_acknowledged": "La tua segnalazione ({kind}, rif. F-{id}) è stata presa in carico.",
    "status_planned": "La tua segnalazione ({kind}, rif. F-{id}) è stata pianificata.",
    "status_done": "La tua segnalazione ({kind}, rif. F-{id}) è stata completata.",
    "status_declined": "Abbiamo deciso di non dare seguito alla tua segnalazione "
    "({kind}, rif. F-{id}).",
    "status_new": "La tua segnalazione ({kind}, rif. F-{id}) è in carico a noi.",
    "response": "La nostra risposta:",
    "nobody": "nessuno",
    "complaint": "reclamo",
    "suggestion": "suggerimento",
    "improvement_request": "richiesta di miglioramento",
    "praise": "apprezzamento",
}

_WORDS: Final[dict[str, dict[str, str]]] = {"en": _EN, "it": _IT}


def words_for(locale: str) -> dict[str, str]:
    return _WORDS.get(locale.split("-", 1)[0].lower(), _EN)


def question(locale: str) -> str:
    return words_for(locale)["question"]


def survey_link(ticket_id: int, resolution: int, nonce: str) -> str:
    token = survey_token(FeedbackConfig.secret, ticket_id, resolution, nonce)
    return f"{FeedbackConfig.public_base_url}/api/v1/surveys/{token}"


# Enqueueing ----------------------------------------------------------------


def invitation(survey: SatisfactionSurvey, ticket: Ticket, nonce: str) -> PersonalNotice:
    return PersonalNotice(
        survey.requester_id,
        NoticeTopic.FEEDBACK,
        kind=SURVEY_INVITATION,
        data={
            "survey_id": survey.id,
            "resolution": survey.resolution,
            "nonce": nonce,
            "expires_at": survey.expires_at.isoformat(),
        },
        ticket=ticket,
    )


async def alert_low_rating(
    session: AsyncSession,
    recipient_ids: list[int],
    survey: SatisfactionSurvey,
    ticket: Ticket,
    *,
    customer: User,
    owner: User | None,
) -> None:
    data = {
        "survey_id": survey.id,
        "rating": survey.rating,
        "comment": survey.comment,
        "customer": {"id": customer.id, "name": customer.name},
        "owner": None if owner is None else {"id": owner.id, "name": owner.name},
    }
    for recipient_id in recipient_ids:
        await enqueue_personal_notice(
            session, recipient_id, NoticeTopic.FEEDBACK, kind=LOW_RATING, data=data, ticket=ticket
        )


async def tell_filed(
    session: AsyncSession, recipient_id: int, feedback: Feedback, ticket: Ticket | None
) -> None:
    await enqueue_personal_notice(
        session,
        recipient_id,
        NoticeTopic.FEEDBACK,
        kind=FEEDBACK_FILED,
        data={"feedback_id": feedback.id, "kind": feedback.kind.value},
        ticket=ticket,
    )


async def tell_status(
    session: AsyncSession, recipient_id: int, feedback: Feedback, ticket: Ticket | None
) -> None:
    await enqueue_personal_notice(
        session,
        recipient_id,
        NoticeTopic.FEEDBACK,
        kind=FEEDBACK_STATUS,
        data={
            "feedback_id": feedback.id,
            "kind": feedback.kind.value,
            "status": feedback.status.value,
            "public_response": feedback.public_response,
        },
        ticket=ticket,
    )


# Wording ---------------------------------------------------------------------


def _name(value: Any, fallback: str) -> str:
    name = value.get("name") if isinstance(value, dict) else None
    return name if isinstance(name, str) else fallback


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _kind(words: dict[str, str], value: Any) -> str:
    return words.get(str(value), str(value))


def _invitation(
    notice: dict[str, Any], locale: str, ticket_id: Any, subject: str, _bodies: dict[int, str]
) -> list[Block]:
    words, data = words_for(locale), notice.get("data") or {}
    resolution, nonce = data.get("resolution"), data.get("nonce")
    values = {"ticket_id": ticket_id, "subject": subject}
    if not (isinstance(ticket_id, int) and isinstance(resolution, int) and isinstance(nonce, str)):
        return [Block(words["invitation_portal"].format(**values))]
    try:
        until = datetime.fromisoformat(str(data.get("expires_at"))).date().isoformat()
    except ValueError:
        until = "?"
    return [
        Block(words["invitation"].format(until=until, **values)),
        Block(survey_link(ticket_id, resolution, nonce)),
    ]


def _low_rating(
    notice: dict[str, Any], locale: str, ticket_id: Any, subject: str, _bodies: dict[int, str]
) -> list[Block]:
    words, data = words_for(locale), notice.get("data") or {}
    text = words["low_rating"].format(
        customer=_name(data.get("customer"), "?"),
        ticket_id=ticket_id,
        subject=subject,
        rating=data.get("rating"),
        owner=_name(data.get("owner"), words["nobody"]),
    )
    return [Block(text, _text(data.get("comment")))]


def _received(
    notice: dict[str, Any], locale: str, ticket_id: Any, _subject: str, _bodies: dict[int, str]
) -> list[Block]:
    words, data = words_for(locale), notice.get("data") or {}
    actor = _name(notice.get("actor"), "?")
    if data.get("source") == "survey":
        text = words["rated"].format(actor=actor, ticket_id=ticket_id, rating=data.get("rating"))
        return [Block(text, _text(data.get("comment")))]
    kind = _kind(words, data.get("kind"))
    return [Block(words["recorded"].format(actor=actor, kind=kind, ticket_id=ticket_id))]


def _filed(
    notice: dict[str, Any], locale: str, _ticket_id: Any, _subject: str, _bodies: dict[int, str]
) -> list[Block]:
    words, data = words_for(locale), notice.get("data") or {}
    key = {"complaint": "filed_complaint", "praise": "filed_praise"}.get(
        str(data.get("kind")), "filed"
    )
    text = words[key].format(kind=_kind(words, data.get("kind")), id=data.get("feedback_id"))
    return [Block(text)]


def _status(
    notice: dict[str, Any], locale: str, _ticket_id: Any, _subject: str, _bodies: dict[int, str]
) -> list[Block]:
    words, data = words_for(locale), notice.get("data") or {}
    key = f"status_{data.get('status')}"
    text = words.get(key, words["status_new"]).format(
        kind=_kind(words, data.get("kind")), id=data.get("feedback_id")
    )
    blocks = [Block(text)]
    response = _text(data.get("public_response"))
    if response is not None:
        blocks.append(Block(words["response"], response))
    return blocks


def register() -> None:
    register_renderer(SURVEY_INVITATION, _invitation)
    register_renderer(LOW_RATING, _low_rating)
    register_renderer(FEEDBACK_FILED, _filed)
    register_renderer(FEEDBACK_STATUS, _status)
    register_renderer(EventKind.FEEDBACK_RECEIVED, _received)
