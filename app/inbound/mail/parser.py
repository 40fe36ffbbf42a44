"""Raw RFC 5322 bytes to a ParsedMail, or a typed failure; never an exception.

Python's `email` package parses the MIME structure, fed in chunks (and with large
base64 bodies kept out of it, see `spill`) so a large mail is never held as one more
string. The structure is parsed under the compat32 policy: the modern policy's header
objects re-parse a part's Content-Type on every access, and the parser itself asks
several times per part, which made parsing the test corpus 4.5 times slower. The
modern policy's parameter parser is still what reads file names first (body.py), with
compat32's as its fallback; header values, charsets, transfer encodings, HTML and the
reply split are handled by the sibling modules, each lenient on its own, so one bad
header or part does not sink the rest of the mail.
"""

from __future__ import annotations

import hashlib
import re
from email import policy
from email.feedparser import BytesFeedParser
from email.message import Message

from app.config import Settings
from app.inbound.mail.body import BodyParts, BodyWalker, declared_charset
from app.inbound.mail.charsets import clean_text, decode_bytes
from app.inbound.mail.headers import (
    decode_value,
    parse_addresses,
    parse_date,
    parse_message_ids,
    raw_bytes,
)
from app.inbound.mail.html import HtmlRendering, render_html
from app.inbound.mail.model import (
    FailureReason,
    MailAddress,
    MailLimits,
    MailParseFailure,
    MessageIdSource,
    ParsedMail,
    ReplyParts,
)
from app.inbound.mail.reply import is_forward_subject, split_reply
from app.inbound.mail.spill import Spilled, spill_large_bodies

_POLICY = policy.compat32
_CHUNK = 64 * 1024
_MAX_HEADERS = 500
_WORDS = re.compile(r"\w{3,}")
_TRAILING_SPACE = re.compile(r"(?<!^--)[ \t]+\n", re.MULTILINE)  # "-- " stays
_BLANK_RUNS = re.compile(r"\n{3,}")
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_IDENTITY_HEADERS = ("from", "to", "cc", "subject", "date", "message-id")
# Where an MTA or mail service wrote the address a mail was delivered to.
_ENVELOPE_HEADERS = ("delivered-to", "x-original-to", "envelope-to", "x-envelope-to")

DEFAULT_LIMITS = MailLimits()


def limits_from_settings(settings: Settings) -> MailLimits:
    """The limits HELPDESK_INBOUND_MAX_MESSAGE_BYTES and _FALLBACK_CHARSETS set."""
    return MailLimits(
        max_message_bytes=settings.inbound_max_message_bytes,
        fallback_charsets=tuple(settings.inbound_fallback_charsets),
    )


def _failure(raw: bytes, reason: FailureReason, detail: str) -> MailParseFailure:
    return MailParseFailure(
        reason=reason,
        detail=clean_text(detail)[:500],
        content_hash=hashlib.sha256(raw).hexdigest(),
        size=len(raw),
    )


def parse_mail(raw: bytes, limits: MailLimits = DEFAULT_LIMITS) -> ParsedMail | MailParseFailure:
    """Parse one raw mail. Returns a ParsedMail, or a MailParseFailure saying why the
    mail cannot be read (empty, too large, no headers at all, or a parser breakdown),
    for the caller to quarantine. Never raises on any input."""
    if not raw or raw.isspace():  # no strip(): that would copy a 20 MB mail
        return _failure(raw, FailureReason.EMPTY, "the message is empty")
    if len(raw) > limits.max_message_bytes:
        return _failure(
            raw,
            FailureReason.TOO_LARGE,
            f"the message is {len(raw)} bytes; the limit is {limits.max_message_bytes}",
        )
    try:
        return _parse(raw, limits)
    except RecursionError:
        return _failure(raw, FailureReason.UNPARSEABLE, "the MIME structure is nested too deeply")
    except Exception as error:  # the promise: a typed failure, whatever the input
        return _failure(raw, FailureReason.UNPARSEABLE, f"{type(error).__name__}: {error}")


def _message_from(raw: bytes, spilled: Spilled) -> Message:
    parser = BytesFeedParser(policy=_POLICY)
    # Blank lines before the headers would make the parser read every header as body.
    leading = len(raw) - len(raw.lstrip(b"\r\n\t "))
    for segment in spilled.segments:
        skip = min(leading, len(segment))
        leading -= skip
        for offset in range(skip, len(segment), _CHUNK):
            parser.feed(bytes(segment[offset : offset + _CHUNK]))
    message = parser.close()
    assert isinstance(message, Message)
    return message


def content_hash(raw: bytes, headers: list[tuple[str, str]]) -> str:
    """A hash of what makes a mail this mail: its identity headers and its body bytes.
    Trace headers (Received, Delivered-To, ...) are left out, so the same mail relayed
    twice along different paths hashes the same."""
    digest = hashlib.sha256()
    for name, value in headers:
        if name.lower() in _IDENTITY_HEADERS:
            digest.update(name.lower().encode() + b":" + value.strip().encode("utf-8", "replace"))
            digest.update(b"\n")
    match = _HEADER_END.search(raw)
    digest.update(b"\n\n")
    if match is not None:
        digest.update(memoryview(raw)[match.end() :])
    return digest.hexdigest()


def _declared_charsets(message: Message, limit: int) -> list[str]:
    found: list[str] = []
    for count, part in enumerate(message.walk()):
        if count >= limit:
            break
        charset = declared_charset(part)
        if charset and charset.lower() not in found and charset.lower() not in ("us-ascii",):
            found.append(charset.lower())
    return found


def _raw_header_charsets(raw_items: list[tuple[str, str]], hints: list[str]) -> list[str]:
    """The charsets raw 8-bit Subject and From headers read best in: a sender that wrote
    undeclared 8-bit headers most likely wrote its undeclared body the same way."""
    found: list[str] = []
    for name, value in raw_items:
        if name.lower() in ("subject", "from") and not value.isascii():
            _, codec = decode_bytes(raw_bytes(value), None, hints)
            if codec not in ("ascii", "utf-8", *hints, *found):
                found.append(codec)
    return found


def _fallback_text(body: BodyParts, hints: list[str], limits: MailLimits) -> str:
    """Text for a mail with no body of its own: its inline text files (some clients
    send the body that way), else the mail it forwards as an attachment."""
    texts = [
        decode_bytes(a.content, None, [*hints, *limits.fallback_charsets])[0]
        for a in body.attachments
        if a.disposition == "inline" and a.content_type == "text/plain"
    ]
    if any(t.strip() for t in texts):
        return "\n\n".join(t.strip("\n") for t in texts if t.strip())
    if body.forwarded and body.forwarded[0].text:
        forwarded = body.forwarded[0]
        headline = [
            "---------- Forwarded message ----------",
            f"From: {forwarded.sender}" if forwarded.sender else "",
            f"Date: {forwarded.date.isoformat()}" if forwarded.date else "",
            f"Subject: {forwarded.subject}" if forwarded.subject else "",
        ]
        return "\n".join(line for line in headline if line) + "\n\n" + forwarded.text
    return ""


def _tidy(text: str) -> str:
    """Plain text without trailing spaces on its lines or runs of blank lines."""
    text = _TRAILING_SPACE.sub("\n", text + "\n")
    return _BLANK_RUNS.sub("\n\n", text).strip("\n")


def _words(text: str) -> set[str]:
    return set(_WORDS.findall(text.lower()))


def _choose_body(plain: str, html_text: str) -> tuple[str, bool]:
    """The visible text and whether it comes from the HTML.

    The plain part is the sender's own text rendering and is preferred; the HTML wins
    when the plain part is empty or a stub ("view this mail in HTML"), that is when it
    covers little of what the HTML says. When both carry much that the other lacks (a
    broken client sending two different texts), both are kept, plain first.
    """
    if not html_text.strip():
        return plain, False
    if not plain.strip():
        return html_text, True
    html_words, plain_words = _words(html_text), _words(plain)
    if not html_words:
        return plain, False
    html_covered = len(html_words & plain_words) / len(html_words)
    if html_covered >= 0.6:
        return plain, False
    plain_covered = len(plain_words & html_words) / len(plain_words) if plain_words else 1.0
    if len(plain_words) >= 20 and plain_covered < 0.6:
        return f"{plain.rstrip()}\n\n{html_text}", False
    return html_text, True


def _html_reply_parts(renderings: list[HtmlRendering], forwarded: bool) -> ReplyParts:
    """The reply split of HTML parts: new text up to the first part whose markup marks
    quoted history; from there on everything is history."""
    new: list[str] = []
    quoted: list[str] = []
    signatures: list[str] = []
    for rendering in renderings:
        if quoted:
            quoted.append(rendering.text)
            continue
        new.append(rendering.new_text)
        signatures.append(rendering.signature)
        if rendering.quoted:
            quoted.append(rendering.quoted)
    # The markup found the history; the text patterns still catch what it did not
    # mark (Apple Mail's attribution line above its blockquote, a typed "-- ").
    split = split_reply("\n\n".join(t for t in new if t), forwarded=forwarded)
    return ReplyParts(
        new_text=split.new_text,
        quoted="\n\n".join(q for q in (split.quoted, *quoted) if q),
        signature="\n\n".join(s for s in (split.signature, *signatures) if s),
    )


def _defect_names(message: Message, body: BodyParts) -> tuple[str, ...]:
    names: list[str] = []
    for part in message.walk():
        for defect in getattr(part, "defects", []):
            name = type(defect).__name__
            if name not in names:
                names.append(name)
        if len(names) >= 50:
            break
    return tuple([*names, *body.defects][:50])


def _parse(raw: bytes, limits: MailLimits) -> ParsedMail | MailParseFailure:
    spilled = spill_large_bodies(raw)
    message = _message_from(raw, spilled)
    raw_items = [(str(name), str(value)) for name, value in message.raw_items()][:_MAX_HEADERS]
    if not raw_items:
        return _failure(raw, FailureReason.NOT_A_MESSAGE, "no header fields: not an email")
    hints = [*_declared_charsets(message, limits.max_parts), *limits.fallback_charsets]
    hints += _raw_header_charsets(raw_items, hints)
    headers = tuple((name, decode_value(value, hints)) for name, value in raw_items)

    def raw_values(*names: str) -> list[str]:
        return [value for name, value in raw_items if name.lower() in names]

    from_addresses = parse_addresses(raw_values("from"), hints)
    sender: MailAddress | None = from_addresses[0] if from_addresses else None
    if sender is None:
        fallback = parse_addresses(raw_values("sender"), hints) or parse_addresses(
            raw_values("return-path"), hints
        )
        sender = fallback[0] if fallback else None

    subject_values = raw_values("subject")
    subject = decode_value(subject_values[0], hints) if subject_values else ""
    message_ids = parse_message_ids(raw_values("message-id"))
    hashed = content_hash(raw, raw_items)
    if message_ids:
        message_id, source = message_ids[0], MessageIdSource.HEADER
    else:
        message_id, source = f"sha256-{hashed}@content-hash.invalid", MessageIdSource.CONTENT_HASH
    date_values = raw_values("date")

    walker = BodyWalker(limits, hints, spilled.bodies)
    body = BodyParts()
    walker.walk(message, body)
    plain = "\n\n".join(_tidy(part) for part in body.plain if part.strip())
    if not plain and not any(part.strip() for part in body.html):
        plain = _fallback_text(body, hints, limits)
    html = "\n".join(body.html) if any(part.strip() for part in body.html) else None
    forwarded = is_forward_subject(subject)
    renderings = [
        render_html(part[: limits.max_html_chars], forwarded=forwarded)
        for part in body.html
        if part.strip()
    ]
    text, from_html = _choose_body(plain, "\n\n".join(r.text for r in renderings if r.text))
    if from_html:
        reply = _html_reply_parts(renderings, forwarded)
    else:
        reply = split_reply(text, forwarded=forwarded)

    return ParsedMail(
        message_id=message_id,
        message_id_source=source,
        content_hash=hashed,
        in_reply_to=parse_message_ids(raw_values("in-reply-to")),
        references=parse_message_ids(raw_values("references")),
        sender=sender,
        from_addresses=from_addresses,
        to=parse_addresses(raw_values("to"), hints),
        cc=parse_addresses(raw_values("cc"), hints),
        reply_to=parse_addresses(raw_values("reply-to"), hints),
        envelope_recipients=parse_addresses(raw_values(*_ENVELOPE_HEADERS), hints),
        subject=subject,
        date=parse_date(date_values[0] if date_values else None),
        text=clean_text(text.strip("\n").rstrip()),
        html=clean_text(html) if html is not None else None,
        reply=reply,
        attachments=tuple(body.attachments),
        forwarded=tuple(body.forwarded),
        headers=headers,
        content_type=_top_content_type(message),
        size=len(raw),
        defects=_defect_names(message, body),
    )


def _top_content_type(message: Message) -> str:
    try:
        return message.get_content_type().lower()
    except Exception:
        return "text/plain"
