"""The sign-in email, in English and Italian. The link is re-derived from the nonce when
the email is written, so the outbox never holds a usable token."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from app.notifications.render import Block, register_renderer
from app.signin.config import SignInConfig
from app.signin.tokens import link_token

SIGN_IN_LINK = "auth.sign_in_link"

_EN: Final[dict[str, str]] = {
    "title": "Your sign-in link",
    "use": "Use this link to sign in and follow your requests. It works once, until {until} UTC:",
    "ignore": "If you did not ask for it, ignore this email: nobody can sign in without it.",
}
_IT: Final[dict[str, str]] = {
    "title": "Il tuo link di accesso",
    "use": "Usa questo link per accedere e seguire le tue richieste. Vale una volta, fino "
    "alle {until} UTC:",
    "ignore": "Se non l'hai chiesto tu, ignora questa email: senza il link nessuno può accedere.",
}
_WORDS: Final[dict[str, dict[str, str]]] = {"en": _EN, "it": _IT}


def _sign_in_link(
    notice: dict[str, Any], locale: str, _ticket_id: Any, _subject: str, _bodies: dict[int, str]
) -> list[Block]:
    words = _WORDS.get(locale.split("-", 1)[0].lower(), _EN)
    data = notice.get("data") or {}
    nonce = data.get("nonce")
    try:
        until = datetime.fromisoformat(str(data.get("expires_at"))).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        until = "?"
    if not isinstance(nonce, str):
        return [Block(words["title"])]
    link = SignInConfig.link_url.replace("{token}", link_token(SignInConfig.secret, nonce))
    return [
        Block(words["title"]),
        Block(words["use"].format(until=until)),
        Block(link),
        Block(words["ignore"]),
    ]


def register() -> None:
    register_renderer(SIGN_IN_LINK, _sign_in_link)
