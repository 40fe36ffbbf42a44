"""Turning a delivery's notices into words for one recipient, in their language."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from app.common.dates import format_day
from app.events.kinds import EventKind
from app.events.summaries import summarize
from app.notifications.templates import Wording, wording_for


@dataclass(frozen=True, slots=True)
class Block:
    """One paragraph: a sentence of ours, and optionally words someone wrote, quoted."""

    text: str
    quote: str | None = None


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    greeting: str
    blocks: list[Block] = field(default_factory=list)
    signature: str = ""
    footer: str = ""

    def as_text(self) -> str:
        parts = [self.greeting, ""]
        for block in self.blocks:
            parts.append(block.text)
            if block.quote:
                parts.extend(["", *("> " + line for line in block.quote.splitlines()), ""])
        parts += ["", self.signature, "", "--", self.footer]
        return "\n".join(parts).strip() + "\n"

    def as_html(self) -> str:
        body = [f"<p>{html.escape(self.greeting)}</p>"]
        for block in self.blocks:
            body.append(f"<p>{html.escape(block.text)}</p>")
            if block.quote:
                quoted = html.escape(block.quote).replace("\n", "<br>\n")
                body.append(
                    '<blockquote style="border-left:3px solid #ccc;margin:0;padding-left:1em">'
                    f"{quoted}</blockquote>"
                )
        body.append(f"<p>{html.escape(self.signature)}</p>")
        body.append(f'<p style="color:#777;font-size:small">{html.escape(self.footer)}</p>')
        return "<!doctype html>\n<html><body>\n" + "\n".join(body) + "\n</body></html>\n"

    def as_sms(self, limit: int = 320) -> str:
        text = " ".join(
            block.text + (f" \u201c{block.quote}\u201d" if block.quote else "")
            for block in self.blocks
        )
        text = f"{self.subject}: {' '.join(text.split())}"
        return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


NoticeRenderer = Callable[[dict[str, Any], str, Any, str, dict[int, str]], list[Block]]
_RENDERERS: dict[str, NoticeRenderer] = {}


def register_renderer(kind: str, renderer: NoticeRenderer) -> None:
    """Let a domain word its own notices: renderer(notice, locale, ticket_id, subject, bodies)."""
    _RENDERERS[kind] = renderer


def render(
    payload: dict[str, Any], recipient_name: str, locale: str, bodies: dict[int, str]
) -> Rendered:
    words = wording_for(locale)
    ticket = payload.get("ticket") or {}
    ticket_id, subject = ticket.get("id"), str(ticket.get("subject", ""))
    blocks = [
        block
        for notice in payload.get("notices", [])
        for block in _blocks(notice, words, ticket_id, subject, bodies)
    ]
    if ticket_id is None:
        # A personal notice about no ticket (feedback news, say): its first sentence is
        # the subject, and there is no ticket reference to give.
        first = blocks[0].text if blocks else subject
        subject = first if len(first) <= 100 else first[:99].rstrip() + "\u2026"
    return Rendered(
        subject=f"[#{ticket_id}] {subject}" if ticket_id is not None else subject,
        greeting=words["greeting"].format(name=recipient_name),
        blocks=blocks,
        signature=words["signature"],
        footer=words["footer"].format(ticket_id=ticket_id)
        if ticket_id is not None
        else words["footer_notice"],
    )


def _name(person: Any, fallback: str = "") -> str:
    name = person.get("name") if isinstance(person, dict) else None
    return name if isinstance(name, str) else fallback


def _blocks(
    notice: dict[str, Any], words: Wording, ticket_id: Any, subject: str, bodies: dict[int, str]
) -> list[Block]:
    kind, part, data = notice.get("kind"), notice.get("part"), notice.get("data") or {}
    custom = _RENDERERS.get(str(kind))
    if custom is not None:
        return custom(notice, words["_locale"], ticket_id, subject, bodies)
    actor = _name(notice.get("actor"), "")
    values = {"ticket_id": ticket_id, "subject": subject, "actor": actor}
    requester = part == "requester"
    match kind:
        case EventKind.TICKET_CREATED:
            return [Block(words["received"].format(**values))]
        case EventKind.MESSAGE_CREATED:
            body = bodies.get(int(data.get("message_id", 0)))
            if data.get("visibility") == "internal":
                key = "internal_note"
            else:
                key = "reply_to_requester" if requester else "reply_to_staff"
            return [Block(words[key].format(**values), body)]
        case EventKind.STATUS_CHANGED:
            return _status_blocks(data, words, values, requester)
        case EventKind.OWNER_CHANGED:
            return _owner_blocks(data, words, values, str(part))
        case _:
            summary = summarize(str(kind), data, actor or None)
            return [Block(words["activity"].format(summary=summary, **values))]


def _status_blocks(
    data: dict[str, Any], words: Wording, values: dict[str, Any], requester: bool
) -> list[Block]:
    note = data.get("note")
    if not requester:
        text = words["status_to_staff"].format(
            from_status=data.get("from"), to_status=data.get("to"), **values
        )
        return [Block(text, note if isinstance(note, str) else None)]
    to = data.get("to")
    key = {
        "pending": "status_pending",
        "resolved": "status_resolved",
        "closed": "status_closed",
    }.get(str(to), "status_reopened")
    blocks = [Block(words[key])]
    if isinstance(note, str) and note:
        blocks.append(Block(words["note_label"], note))
    return blocks


def _owner_blocks(
    data: dict[str, Any], words: Wording, values: dict[str, Any], part: str
) -> list[Block]:
    reason = str(data.get("reason", "manual"))
    previous, new = _name(data.get("from")), _name(data.get("to"))
    if part == "requester":
        sentence = _contact_sentence(data, words, previous, new)
        if sentence is not None:
            return [Block(sentence)]
        because = words.get(f"because_{reason}", "").format(previous=previous or "?")
        if not new:
            return [Block(words["contact_queue"].format(because=because))]
        return [Block(words["contact_changed"].format(to=new, because=because))]
    because = words.get(f"because_staff_{reason}", "")
    if part == "new_owner":
        blocks = [Block(words["assigned_to_you"].format(because=because, **values))]
        note = data.get("note")
        if isinstance(note, str) and note:
            blocks.append(Block(words["handover_note"], note))
        return blocks
    if part == "previous_owner":
        return [Block(words["taken_from_you"].format(to=new or "-", because=because, **values))]
    summary = summarize(EventKind.OWNER_CHANGED, data, values["actor"] or None)
    return [Block(words["activity"].format(summary=summary, **values))]


def _contact_sentence(data: dict[str, Any], words: Wording, previous: str, new: str) -> str | None:
    """What the requester is told when the reason deserves a sentence of its own: who is
    away until when (never why), who is back, whom the case was escalated to."""
    reason = data.get("reason")
    absence = data.get("absence")
    if reason == "unavailability" and isinstance(absence, dict):
        if absence.get("reason") == "departed":
            key = "gone"
        elif isinstance(absence.get("until_day"), str):
            key = "away"
        else:
            key = "away_open"
        until = format_day(
            str(absence.get("until_day")), words["_locale"], this_year=datetime.now(UTC).year
        )
        template = words["contact_" + key] if new else words["queue_" + key]
        return template.format(previous=previous or "?", to=new, until=until)
    if reason == "hand_back" and new:
        return words["contact_back"].format(to=new)
    escalation = data.get("escalation")
    if reason == "escalation" and isinstance(escalation, dict):
        target = _name(escalation.get("to_team"))
        if not new:
            return words["escalated_to_queue"].format(target=target or "?")
        if not target:
            return words["escalated_to_person"].format(to=new)
        return words["escalated_to_team"].format(target=target, to=new)
    return None
