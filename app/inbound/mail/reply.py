"""Split a reply's text into what is new, the signature, and the quoted history.

What mail clients put above the history they quote, in the languages our customers
write in:

- Gmail, Apple Mail, Thunderbird: an attribution line, "On <date>, <name> wrote:",
  "Il giorno <date> <name> ha scritto:", "Am <date> schrieb <name>:",
  "Le <date>, <name> a écrit :" and so on (Gmail wraps it over two or three lines),
  followed by "> " quoted lines;
- Outlook: "-----Original Message-----" (or "-----Ursprüngliche Nachricht-----",
  "-----Messaggio originale-----", "-----Message d'origine-----"), or a block of
  "From:/Sent:/To:/Subject:" lines ("Von:/Gesendet:", "Da:/Inviato:", "De :/Envoyé :")
  after a line of underscores, with the history below it unquoted;
- anything else: a trailing block of "> " lines.

Replies written between quoted lines (inline answers, bottom posting) keep the whole
text as new. Forwarded mail is all content: nothing is cut from it. The signature is
what follows a "-- " line, or a trailing "Sent from my iPhone" in its many languages.
"""

from __future__ import annotations

import re

from app.inbound.mail.model import ReplyParts

_WROTE_VERBS = (
    r"wrote|writes|schrieb|a\s+[ée]crit|escribi[óo]|ha\s+scritto|scrisse|escreveu|"
    r"schreef|skrev|napisa[łl](?:\(a\)|a)?|napsal(?:\(a\)|a)?|kirjoitti|[íi]rta|yazd[ıi]|"
    r"написал(?:\(а\)|а)?|έγραψε"
)
_ATTRIBUTION = re.compile(
    rf"^.{{0,400}}?\b(?:{_WROTE_VERBS})\b[^\n]{{0,160}}?[:：]\s*$", re.IGNORECASE | re.DOTALL
)
_ATTRIBUTION_LEAD = re.compile(
    r"^\s*(?:on|am|le|el|il|em|op|den|på|w\s+dniu|dne|the|at|\d|"
    r"(?:mon|tue|wed|thu|fri|sat|sun|lun|mar|mer|gio|ven|sab|dom|mo|di|mi|do|fr|sa|so)\w*[.,]?\s)",
    re.IGNORECASE,
)
_SEPARATOR = re.compile(
    r"^\s*[-_=]{2,}\s*(?:original\s+message|ursprüngliche\s+nachricht|original\s+nachricht|"
    r"messaggio\s+originale|message\s+d.origine|mensaje\s+original|mensagem\s+original|"
    r"oorspronkelijk\s+bericht|originalmeddelande|oprindelig\s+meddelelse|"
    r"opprinnelig\s+melding|alkuperäinen\s+viesti|wiadomość\s+oryginalna|původní\s+zpráva|"
    r"исходное\s+сообщение|reply\s+message)\s*[-_=]{2,}\s*$",
    re.IGNORECASE,
)
_UNDERSCORES = re.compile(r"^\s*_{10,}\s*$")
_FROM_LINE = re.compile(
    r"^\s*[*>]*\s*(?:from|von|da|de|van|från|fra|od|lähettäjä|от|feladó|kimden|发件人|差出人)"
    r"\s*[*]?\s*[:：]",
    re.IGNORECASE,
)
_HEADER_LINE = re.compile(
    r"^\s*[*>]*\s*(?:sent|date|to|cc|subject|gesendet|datum|an|betreff|inviato|data|a|oggetto|"
    r"envoyé|date|à|objet|enviado|fecha|para|asunto|assunto|verzonden|aan|onderwerp|skickat|"
    r"till|ämne|sendt|til|emne|wysłano|do|temat|odesláno|komu|předmět|отправлено|кому|тема|"
    r"发送时间|收件人|主题|送信日時|宛先|件名)\s*[*]?\s*[:：]",
    re.IGNORECASE,
)
_FORWARD_MARKER = re.compile(
    r"^\s*(?:-{2,}\s*(?:forwarded\s+message|weitergeleitete\s+nachricht|messaggio\s+inoltrato|"
    r"message\s+transf[ée]r[ée]|mensaje\s+reenviado|mensagem\s+encaminhada|"
    r"doorgestuurd\s+bericht|vidarebefordrat\s+meddelande)\s*-{2,}|"
    r"begin\s+forwarded\s+message\s*:|inizio\s+messaggio\s+inoltrato\s*:|"
    r"anfang\s+der\s+weitergeleiteten\s+nachricht\s*:|début\s+du\s+message\s+réexpédié\s*:)",
    re.IGNORECASE,
)
_FORWARD_SUBJECT = re.compile(
    r"^\s*(?:\[[^\]]*\]\s*)?(?:fwd?|fw|wg|tr|rv|i|enc|doorst|vs|vb|pd|přeposlat)\s*:",
    re.IGNORECASE,
)
_MOBILE_SIGNATURE = re.compile(
    r"^\s*(?:sent\s+from\s+(?:my\s+)?\S.*|get\s+outlook\s+for\s+\S.*|"
    r"sent\s+(?:with|via)\s+\S.*|inviato\s+da\s+\S.*|inviato\s+dal\s+mio\s+\S.*|"
    r"von\s+meinem\s+\S.*\s+gesendet|gesendet\s+(?:von|mit)\s+\S.*|"
    r"envoy[ée]\s+(?:de|depuis)\s+(?:mon\s+)?\S.*|enviado\s+(?:desde|de)\s+(?:mi\s+)?\S.*|"
    r"enviado\s+do\s+(?:meu\s+)?\S.*|verzonden\s+(?:vanaf|met)\s+\S.*|"
    r"skickat\s+från\s+\S.*|sendt\s+fra\s+\S.*|wysłane\s+z\s+\S.*|отправлено\s+с\s+\S.*)$",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"^\s*>")
_MAX_ATTRIBUTION_LINES = 3


def is_forward_subject(subject: str) -> bool:
    """True when the subject says the mail is a forward (Fwd:, FW:, WG:, I:, TR:, RV:)."""
    return bool(_FORWARD_SUBJECT.match(subject))


def _next_content_line(lines: list[str], start: int) -> str | None:
    for line in lines[start:]:
        if line.strip():
            return line
    return None


def _attribution_at(lines: list[str], index: int) -> int | None:
    """The number of lines (1 to 3) of an attribution starting at `index`, if one is."""
    first = lines[index]
    if not first.strip() or _QUOTED.match(first):
        return None
    for length in range(1, _MAX_ATTRIBUTION_LINES + 1):
        chunk = lines[index : index + length]
        if len(chunk) < length or (length > 1 and not chunk[-1].strip()):
            return None
        joined = " ".join(line.strip() for line in chunk)
        if len(joined) > 500:
            return None
        if _ATTRIBUTION.match(joined) and re.search(r"[\d@]", joined):
            following = _next_content_line(lines, index + length)
            if _ATTRIBUTION_LEAD.match(first) or (following and _QUOTED.match(following)):
                return length
            return None
        if joined.rstrip().endswith((":", "：")):
            return None
    return None


def _header_block_at(lines: list[str], index: int) -> bool:
    """True when an Outlook-style "From:/Sent:/To:/Subject:" block starts at `index`."""
    if not _FROM_LINE.match(lines[index]):
        return False
    following = [line for line in lines[index + 1 : index + 7] if line.strip()]
    return sum(1 for line in following[:5] if _HEADER_LINE.match(line)) >= 2


def _after_forward_marker(lines: list[str], index: int) -> bool:
    earlier = [line for line in lines[max(0, index - 3) : index] if line.strip()]
    return any(_FORWARD_MARKER.match(line) for line in earlier)


def _has_reply_after_quotes(lines: list[str], start: int) -> bool:
    """True when unquoted text follows quoted lines after `start`: the sender answered
    between or below the quotes, so everything is part of the reply."""
    seen_quote = False
    for line in lines[start:]:
        if _QUOTED.match(line):
            seen_quote = True
        elif line.strip() and seen_quote and not _MOBILE_SIGNATURE.match(line):
            return True
    return False


def _history_start(lines: list[str]) -> int | None:
    for index, line in enumerate(lines):
        if not line.strip() or _QUOTED.match(line):
            continue
        if _SEPARATOR.match(line):
            return index
        if _UNDERSCORES.match(line):
            following = _next_content_line(lines, index + 1)
            if following is not None and _FROM_LINE.match(following):
                return index
        if _header_block_at(lines, index) and not _after_forward_marker(lines, index):
            return index
        length = _attribution_at(lines, index)
        if length is not None:
            return None if _has_reply_after_quotes(lines, index + length) else index
    # No marker: a trailing run of quoted lines (and blanks) is history.
    end = len(lines)
    start = end
    for index in range(end - 1, -1, -1):
        if _QUOTED.match(lines[index]) or not lines[index].strip():
            start = index
            continue
        break
    if start < end and any(_QUOTED.match(line) for line in lines[start:]) and start > 0:
        return start
    return None


def _signature_start(lines: list[str]) -> int | None:
    for index, line in enumerate(lines):
        delimiter = line.rstrip() == "--" and line.startswith("--")
        if delimiter and (line == "-- " or len(lines) - index <= 12):
            return index
    content = [index for index, line in enumerate(lines) if line.strip()]
    for index in reversed(content[-2:]):
        if _MOBILE_SIGNATURE.match(lines[index]) and len(lines[index]) <= 80:
            return index
    return None


def _join(lines: list[str]) -> str:
    return "\n".join(lines).strip("\n").rstrip()


def split_reply(text: str, *, forwarded: bool = False) -> ReplyParts:
    """Split `text` into new text, signature and quoted history (see the module doc).

    With `forwarded` (the subject says Fwd:) everything stays new text, because a
    forward's quoted part is the content the sender wants the desk to read.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    history = None if forwarded else _history_start(lines)
    new_lines = lines if history is None else lines[:history]
    quoted = "" if history is None else _join(lines[history:])
    signature = ""
    signature_at = _signature_start(new_lines)
    if signature_at is not None:
        signature = _join(new_lines[signature_at:])
        new_lines = new_lines[:signature_at]
    return ReplyParts(new_text=_join(new_lines).strip(), quoted=quoted, signature=signature)
