"""What a merge tells customers, in English and Italian: where their request lives now,
and (another customer's request being the primary) that it was resolved."""

from __future__ import annotations

from typing import Any, Final

from app.notifications.render import Block, register_renderer

MERGED = "ticket.merged.requester"
PRIMARY_RESOLVED = "ticket.merged.resolved"

_EN: Final[dict[str, str]] = {
    "same": "Your request #{ticket_id} is about the same thing as your request #{into_id} "
    "\u201c{into_subject}\u201d, so we have merged them: we continue on #{into_id}. "
    "Replies to either still reach us.",
    "other": "Your request #{ticket_id} is now handled together with a related request "
    "(#{into_id}). Replies to this conversation still reach us, and we will let you know "
    "when it is resolved.",
    "resolved": "Your request #{ticket_id}, handled together with a related request, has "
    "been resolved. If anything is still not right, just reply and we will look again.",
}
_IT: Final[dict[str, str]] = {
    "same": "La tua richiesta #{ticket_id} riguarda la stessa cosa della tua richiesta "
    "#{into_id} \u201c{into_subject}\u201d, quindi le abbiamo unite: proseguiamo su "
    "#{into_id}. Le risposte a entrambe ci arrivano comunque.",
    "other": "La tua richiesta #{ticket_id} ora è gestita insieme a una richiesta collegata "
    "(#{into_id}). Le risposte a questa conversazione ci arrivano comunque, e ti faremo "
    "sapere quando sarà risolta.",
    "resolved": "La tua richiesta #{ticket_id}, gestita insieme a una richiesta collegata, "
    "è stata risolta. Se qualcosa non va ancora, rispondi e la riguarderemo.",
}
_WORDS: Final[dict[str, dict[str, str]]] = {"en": _EN, "it": _IT}


def _words(locale: str) -> dict[str, str]:
    return _WORDS.get(locale.split("-", 1)[0].lower(), _EN)


def _merged(
    notice: dict[str, Any], locale: str, ticket_id: Any, _subject: str, _bodies: dict[int, str]
) -> list[Block]:
    words, data = _words(locale), notice.get("data") or {}
    subject = data.get("into_subject")
    key = "same" if data.get("same_requester") and isinstance(subject, str) else "other"
    return [
        Block(
            words[key].format(
                ticket_id=ticket_id, into_id=data.get("into_id"), into_subject=subject
            )
        )
    ]


def _resolved(
    notice: dict[str, Any], locale: str, ticket_id: Any, _subject: str, _bodies: dict[int, str]
) -> list[Block]:
    return [Block(_words(locale)["resolved"].format(ticket_id=ticket_id))]


def register() -> None:
    register_renderer(MERGED, _merged)
    register_renderer(PRIMARY_RESOLVED, _resolved)
