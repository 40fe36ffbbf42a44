"""Header values as a person reads them: unfolded, RFC 2047 decoded, raw 8-bit bytes
decoded best-effort, addresses split correctly, Message-IDs and dates parsed.

Works from the raw header text the parser kept (`Message.raw_items()`), not from the
modern policy's header objects, because those turn undeclared 8-bit bytes into
replacement characters and give up on unknown charsets, both common in real mail.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from email.utils import getaddresses, parsedate_to_datetime

from app.inbound.mail.charsets import clean_text, decode_bytes
from app.inbound.mail.model import MailAddress

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?(.*?)\?=", re.DOTALL)
_FOLD = re.compile(rb"\r?\n(?=[ \t])")
_NEWLINES = re.compile(rb"[\r\n]+")
# Folding and tabs, not every Unicode space: an ideographic space in a Japanese subject
# is part of the text.
_WHITESPACE = re.compile(r"[ \t\r\n]+")
_ANGLE_ID = re.compile(r"<([^<>]*)>")
_BASE64_JUNK = re.compile(rb"[^A-Za-z0-9+/]")

MAX_HEADER_CHARS = 16_384
MAX_MESSAGE_IDS = 200
_MAX_ID_CHARS = 995


def raw_bytes(value: str) -> bytes:
    """The bytes a raw header value was parsed from (8-bit bytes come back from the
    parser's surrogate escapes)."""
    return value.encode("utf-8", "surrogateescape")


def unfolded_text(value: str, hints: Sequence[str] = ()) -> str:
    """A raw header value unfolded and with raw 8-bit bytes decoded, encoded words kept."""
    data = raw_bytes(value[: MAX_HEADER_CHARS * 2])
    data = _NEWLINES.sub(b" ", _FOLD.sub(b"", data))
    text, _ = decode_bytes(data, None, hints)
    return text


def _decode_word(charset: str, encoding: str, payload: str) -> tuple[str, bytes]:
    data = payload.encode("utf-8", "surrogateescape")
    if encoding in "bB":
        data = _BASE64_JUNK.sub(b"", data)
        data = data[: len(data) - len(data) % 4] if len(data) % 4 == 1 else data
        data += b"=" * (-len(data) % 4)
        try:
            return charset, binascii.a2b_base64(data)
        except (binascii.Error, ValueError):
            return charset, b""
    return charset, binascii.a2b_qp(data, header=True)


def decode_words(text: str, hints: Sequence[str] = ()) -> str:
    """Decode RFC 2047 encoded words in `text`, leniently.

    Adjacent words in the same charset are joined before decoding, because many mailers
    split a multi-byte character across two words; the whitespace between encoded words
    is dropped as RFC 2047 says; bad padding and unknown charsets decode best-effort.
    """
    if "=?" not in text:
        return text
    pieces: list[str] = []
    pending_charset: str | None = None
    pending = bytearray()
    position = 0

    def flush() -> None:
        nonlocal pending_charset
        if pending_charset is not None:
            pieces.append(decode_bytes(bytes(pending), pending_charset, hints)[0])
            pending.clear()
            pending_charset = None

    for match in _ENCODED_WORD.finditer(text):
        between = text[position : match.start()]
        if between and not (between.isspace() and pending_charset is not None):
            flush()
            pieces.append(between)
        charset, data = _decode_word(*match.groups())
        charset = charset.split("*", 1)[0].lower()
        if pending_charset is not None and charset != pending_charset:
            flush()
        pending_charset = charset
        pending += data
        position = match.end()
    flush()
    pieces.append(text[position:])
    return "".join(pieces)


def decode_value(value: str, hints: Sequence[str] = ()) -> str:
    """A raw header value as display text: unfolded, decoded, whitespace collapsed."""
    text = decode_words(unfolded_text(value, hints), hints)
    return clean_text(_WHITESPACE.sub(" ", text).strip(" "))


def _address(name: str, address: str, hints: Sequence[str]) -> MailAddress | None:
    address = address.strip().strip("<>").strip()
    name = _WHITESPACE.sub(" ", decode_words(name, hints)).strip(" ").strip("\"'").strip(" ")
    name = clean_text(name)
    if not address:
        return None
    address = clean_text(_WHITESPACE.sub("", address))[:320]
    local, at, domain = address.rpartition("@")
    if at:
        address = f"{local}@{domain.lower().rstrip('.')}"
    return MailAddress(name=name if name != address else "", address=address)


def parse_addresses(values: Iterable[str], hints: Sequence[str] = ()) -> tuple[MailAddress, ...]:
    """Every address in a set of raw address headers (To, Cc, ...), deduplicated.

    The list is split before encoded words are decoded, so a decoded display name with a
    comma ("Doe, John") cannot split one address into two. A sender who encoded the
    whole "Name <address>" as one encoded word is split after decoding instead.
    """
    texts = [unfolded_text(value, hints) for value in values]
    if not texts:
        return ()
    try:
        pairs = getaddresses(texts)
    except Exception:  # the address parser is lenient but not proven total
        pairs = []
    if not any("@" in address for _, address in pairs) and any("=?" in t for t in texts):
        try:
            pairs = getaddresses([decode_words(text, hints) for text in texts])
        except Exception:
            pairs = []
    found: list[MailAddress] = []
    seen: set[str] = set()
    for name, address in pairs:
        parsed = _address(name, address, hints)
        if parsed is not None and parsed.normalized not in seen:
            seen.add(parsed.normalized)
            found.append(parsed)
    return tuple(found)


def parse_message_ids(values: Iterable[str]) -> tuple[str, ...]:
    """The Message-IDs in raw Message-ID, In-Reply-To or References values, without
    angle brackets, in order, each once. Bare ids (no brackets) are accepted when they
    look like one (contain "@")."""
    found: list[str] = []
    for value in values:
        text = clean_text(raw_bytes(value[:MAX_HEADER_CHARS]).decode("utf-8", "replace"))
        ids = [_WHITESPACE.sub("", i) for i in _ANGLE_ID.findall(text)]
        if not ids:
            ids = [token.strip("<>,;") for token in text.split() if "@" in token]
        for message_id in ids:
            message_id = message_id[:_MAX_ID_CHARS]
            if message_id and message_id not in found:
                found.append(message_id)
            if len(found) >= MAX_MESSAGE_IDS:
                return tuple(found)
    return tuple(found)


def parse_date(value: str | None) -> datetime | None:
    """The Date header as an aware UTC datetime; None when missing or unreadable.
    A date without a zone ("-0000" or none) is taken as UTC."""
    if not value:
        return None
    text = clean_text(raw_bytes(value[:1000]).decode("ascii", "replace"))
    text = _WHITESPACE.sub(" ", text).strip()
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if not 1970 <= parsed.year <= 2200:
        return None
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
