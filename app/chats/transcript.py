"""A chat's transcript, and the two mails that carry it: the chat went on by email
(nobody answered in time), and the transcript the customer asked for at the end.

Only what the customer could see is in it: the opening message and the public
messages, never an internal note.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Message, Ticket, User, Visibility
from app.notifications.render import Block, register_renderer

FELL_BACK = "chat.fallback"
TRANSCRIPT = "chat.transcript"
MAX_LINES = 500

_EN: Final[dict[str, str]] = {
    FELL_BACK: "Sorry we could not answer your chat #{ticket_id} right away. We will answer "
    "by email instead: just reply to this message to add anything. Here is the "
    "conversation so far:",
    TRANSCRIPT: "Here is the transcript of your chat #{ticket_id}, as you asked:",
}
_IT: Final[dict[str, str]] = {
    FELL_BACK: "Ci dispiace di non aver potuto rispondere subito alla tua chat #{ticket_id}. "
    "Ti risponderemo via email: rispondi a questo messaggio per aggiungere altro. Ecco la "
    "conversazione finora:",
    TRANSCRIPT: "Ecco la trascrizione della tua chat #{ticket_id}, come richiesto:",
}
_WORDS: Final[dict[str, dict[str, str]]] = {"en": _EN, "it": _IT}


async def transcript(session: AsyncSession, ticket: Ticket) -> list[dict[str, Any]]:
    """[{author, at, text}] oldest first: the opening message, then the public ones."""
    requester = await session.get(User, ticket.requester_id)
    lines: list[dict[str, Any]] = [
        {
            "author": requester.name if requester is not None else "",
            "at": ticket.created_at.isoformat(),
            "text": ticket.description,
        }
    ]
    rows = await session.execute(
        select(Message.body, Message.created_at, User.name)
        .join(User, User.id == Message.author_id)
        .where(Message.ticket_id == ticket.id, Message.visibility == Visibility.PUBLIC)
        .order_by(Message.id)
        .limit(MAX_LINES)
    )
    lines += [{"author": name, "at": at.isoformat(), "text": body} for body, at, name in rows]
    return lines


def _renderer(kind: str) -> Any:
    def render(
        notice: dict[str, Any], locale: str, ticket_id: Any, _subject: str, _b: dict[int, str]
    ) -> list[Block]:
        words = _WORDS.get(locale.split("-", 1)[0].lower(), _EN)
        lines = (notice.get("data") or {}).get("transcript") or []
        blocks = [Block(words[kind].format(ticket_id=ticket_id))]
        blocks += [
            Block(
                f"{line.get('author', '')} ({str(line.get('at', ''))[:16]}):",
                str(line.get("text", "")),
            )
            for line in lines
            if isinstance(line, dict)
        ]
        return blocks

    return render


def register() -> None:
    register_renderer(FELL_BACK, _renderer(FELL_BACK))
    register_renderer(TRANSCRIPT, _renderer(TRANSCRIPT))
