"""The MIME tree walked into body text, HTML and attachments.

Rules, in the spirit of what RT, FreeScout and the mail clients themselves do:

- multipart/alternative: the last plain-text and the last HTML rendition (RFC 2046
  orders them from plainest to richest); its other children (a text/calendar invite)
  are attachments;
- multipart/signed: the content, and the signature as an attachment;
- other multiparts (mixed, related, digest, report, unknown ones): every child in order,
  so text written around an inline image (Apple Mail) is one body;
- a text/plain or text/html part is body text unless it is marked as an attachment
  or names a file (then it is a file the sender attached);
- message/rfc822 (a forwarded or bounced mail) is an attachment (".eml") and its
  headline and text are kept as a ForwardedMail;
- uuencoded blocks inside plain text (Lotus Notes, old Outlook) become attachments.

Transfer encodings are undone here, without the intermediate copies the standard
library makes for base64 (it splits the payload into a list of lines first, which
for a 20 MB attachment costs more memory than the attachment).
"""

from __future__ import annotations

import binascii
import io
import mimetypes
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email import policy
from email.generator import BytesGenerator
from email.message import Message
from email.parser import BytesParser
from email.utils import collapse_rfc2231_value
from typing import Literal

from app.inbound.mail.charsets import clean_text, decode_bytes
from app.inbound.mail.headers import (
    decode_value,
    decode_words,
    parse_addresses,
    parse_date,
    parse_message_ids,
)
from app.inbound.mail.html import html_to_text
from app.inbound.mail.model import ForwardedMail, MailAttachment, MailLimits

_REGENERATE = policy.compat32.clone(max_line_length=0)
_MODERN_HEADERS = policy.default.header_factory
_UNFOLD = re.compile(r"\r?\n(?=[ \t])")
_UUENCODE_BEGIN = re.compile(r"^begin [0-7]{3,4} (.+)$")
_BASE64_ALPHABET = re.compile(r"[^A-Za-z0-9+/]")
_FILENAME_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")
_SIGNATURE_TYPES = frozenset(
    {"application/pgp-signature", "application/pkcs7-signature", "application/x-pkcs7-signature"}
)
_MESSAGE_TYPES = frozenset({"message/rfc822", "message/global"})
_DEFAULT_NAMES = {
    "message/delivery-status": "delivery-status.txt",
    "message/disposition-notification": "disposition-notification.txt",
    "text/rfc822-headers": "original-headers.txt",
    "application/pgp-signature": "signature.asc",
    "application/pkcs7-signature": "smime.p7s",
    "text/calendar": "invite.ics",
}


@dataclass
class BodyParts:
    """What the walk found, in document order."""

    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[MailAttachment] = field(default_factory=list)
    forwarded: list[ForwardedMail] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)


def raw_headers(part: Message) -> dict[str, str]:
    """The part's raw header values by lower-cased name (the first of each)."""
    found: dict[str, str] = {}
    for name, value in part.raw_items():
        found.setdefault(name.lower(), value)
    return found


def content_type(part: Message) -> str:
    try:
        return part.get_content_type().lower()
    except Exception:  # the modern header parser has had crash bugs on odd input
        return "application/octet-stream"


def declared_charset(part: Message) -> str | None:
    try:
        charset = part.get_content_charset()
    except Exception:
        return None
    return str(charset) if charset else None


def safe_filename(name: str | None) -> str | None:
    """A bare file name: decoded, no directories, no control characters, at most 255
    characters with the extension kept; None when nothing is left."""
    if not name:
        return None
    name = _FILENAME_UNSAFE.sub("", clean_text(decode_words(name)))
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip().strip(".").strip()
    if not name:
        return None
    if len(name) > 255:
        stem, dot, extension = name.rpartition(".")
        keep = extension if dot and len(extension) <= 16 else ""
        name = (stem if keep else name)[: 255 - len(keep) - 1 if keep else 255] + (
            f".{keep}" if keep else ""
        )
    return name


def _modern_param(part: Message, header: str, param: str) -> str | None:
    """A parameter as the modern policy's header parser reads it (RFC 2231 continuations
    and charsets, RFC 2047 words inside quotes). Used for the few headers that name
    files; the MIME structure itself is parsed with compat32 (see parser.py)."""
    raw = raw_headers(part).get(header)
    if not raw:
        return None
    try:
        parsed = _MODERN_HEADERS(header, _UNFOLD.sub("", raw).rstrip("\r\n"))
        value = parsed.params.get(param)
    except Exception:  # its parser has had crash bugs on odd input; compat32 follows
        return None
    return str(value) if value else None


def filename_of(part: Message) -> str | None:
    name: object = _modern_param(part, "content-disposition", "filename")
    if not name:
        try:
            name = part.get_filename()
        except Exception:
            name = None
    if not name:
        name = _modern_param(part, "content-type", "name")
    if not name:
        try:
            name = part.get_param("name", header="content-type")
        except Exception:
            name = None
    if isinstance(name, tuple):
        name = collapse_rfc2231_value(name)
    return safe_filename(name) if isinstance(name, str) else None


def disposition_of(part: Message) -> str | None:
    try:
        disposition = part.get_content_disposition()
    except Exception:
        return None
    return disposition.lower() if disposition else None


def _base64(payload: str | memoryview) -> bytes:
    try:
        return binascii.a2b_base64(payload)
    except (binascii.Error, ValueError):
        # Stray characters or broken padding: keep the alphabet, fix the length.
        text = (
            bytes(payload).decode("ascii", "ignore") if isinstance(payload, memoryview) else payload
        )
        data = _BASE64_ALPHABET.sub("", text.encode("ascii", "ignore").decode("ascii"))
        data = data[: len(data) - len(data) % 4] if len(data) % 4 == 1 else data
        try:
            return binascii.a2b_base64(data + "=" * (-len(data) % 4))
        except (binascii.Error, ValueError):
            return b""


def part_bytes(part: Message, spilled: Mapping[str, memoryview] | None = None) -> bytes:
    """The part's content with its transfer encoding undone (never raises). A body the
    parser never saw (see `spill`) is decoded from the raw bytes it stands for."""
    if part.is_multipart():
        return b""
    encoding = raw_headers(part).get("content-transfer-encoding", "")
    encoding = decode_value(encoding).lower().strip() if encoding else ""
    if encoding == "base64":
        payload = part.get_payload()
        if spilled and isinstance(payload, str) and payload.strip() in spilled:
            return _base64(spilled[payload.strip()])
        if isinstance(payload, bytes):
            return _base64(payload.decode("ascii", "ignore"))
        if not isinstance(payload, str):
            return b""
        if not payload.isascii():
            payload = payload.encode("ascii", "ignore").decode("ascii")
        return _base64(payload)
    # The standard library recovers 8-bit bytes exactly here (get_payload() without
    # decode would replace them), and quoted-printable and uuencode cost no extra copy.
    decoded = part.get_payload(decode=True)
    return decoded if isinstance(decoded, bytes) else b""


def _header_blocks_bytes(part: Message) -> bytes:
    """A report part (message/delivery-status, message/disposition-notification) as
    text again: the parser splits it into blocks of header fields."""
    blocks = part.get_payload()
    if not isinstance(blocks, list):
        return part_bytes(part)
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, Message):
            lines.extend(f"{name}: {value}" for name, value in block.raw_items())
            body = block.get_payload()
            if isinstance(body, str) and body.strip():
                lines.append("")
                lines.append(body.rstrip("\n"))
            lines.append("")
    return "\n".join(lines).encode("utf-8", "surrogateescape")


def _unflow(text: str, delete_space: bool) -> str:
    """Undo RFC 3676 format=flowed: a line ending in a space goes on in the next line
    of the same quote depth; a leading space is stuffing."""
    out: list[str] = []
    current: tuple[int, str] | None = None

    def render(paragraph: tuple[int, str]) -> str:
        depth, content = paragraph
        return (">" * depth + " " if depth else "") + content

    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):
            content = content[1:]
        flowed = content.endswith(" ") and content.rstrip() != "--"
        if flowed and delete_space:
            content = content[:-1]
        if current is not None and current[0] == depth:
            current = (depth, current[1] + content)
        else:
            if current is not None:
                out.append(render(current))
            current = (depth, content)
        if not flowed:
            out.append(render(current))
            current = None
    if current is not None:
        out.append(render(current))
    return "\n".join(out)


def _extract_uuencoded(text: str, into: list[MailAttachment]) -> str:
    """Take uuencoded files out of plain text; the text keeps everything else."""
    if "begin " not in text:
        return text
    lines = text.split("\n")
    kept: list[str] = []
    index = 0
    while index < len(lines):
        match = _UUENCODE_BEGIN.match(lines[index].rstrip("\r"))
        end = None
        if match:
            end = next(
                (i for i in range(index + 1, len(lines)) if lines[i].rstrip("\r") == "end"),
                None,
            )
        if match is None or end is None:
            kept.append(lines[index])
            index += 1
            continue
        data = bytearray()
        for line in lines[index + 1 : end]:
            line = line.rstrip("\r")
            if not line or line == "`":
                continue
            try:
                data += binascii.a2b_uu(line)
            except binascii.Error:
                # Some encoders pad short lines badly; the standard library's fix.
                length = ((ord(line[0]) - 32) & 63) * 4 // 3 + 3 if line else 0
                try:
                    data += binascii.a2b_uu(line[:length])
                except binascii.Error:
                    continue
        name = safe_filename(match.group(1).strip())
        guessed = mimetypes.guess_type(name or "")[0] or "application/octet-stream"
        into.append(MailAttachment(name, guessed, bytes(data), "attachment"))
        index = end + 1
    return "\n".join(kept)


class BodyWalker:
    """Walks one message tree; `walk` fills a BodyParts."""

    def __init__(
        self,
        limits: MailLimits,
        hints: list[str],
        spilled: Mapping[str, memoryview] | None = None,
        *,
        keep_attachments: bool = True,
    ) -> None:
        self.limits = limits
        self.hints = hints
        self.spilled = spilled or {}
        self.keep_attachments = keep_attachments
        self.parts_seen = 0

    def text_of(self, part: Message) -> str:
        data = part_bytes(part, self.spilled)
        charset = declared_charset(part)
        text, _ = decode_bytes(data, charset, [*self.hints, *self.limits.fallback_charsets])
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        try:
            params = {k.lower(): v.lower() for k, v in part.get_params() or [] if v}
        except Exception:
            params = {}
        if params.get("format") == "flowed":
            text = _unflow(text, params.get("delsp") == "yes")
        return text

    def walk(self, part: Message, out: BodyParts, depth: int = 0) -> None:
        self.parts_seen += 1
        if self.parts_seen > self.limits.max_parts:
            if self.parts_seen == self.limits.max_parts + 1:
                out.defects.append(f"more than {self.limits.max_parts} parts; the rest skipped")
            return
        if depth > self.limits.max_depth:
            out.defects.append(f"parts nested deeper than {self.limits.max_depth} skipped")
            return
        ctype = content_type(part)
        children = part.get_payload()
        if ctype.startswith("message/") and ctype not in _MESSAGE_TYPES:
            # Reports (delivery-status, disposition-notification, feedback-report) and
            # the rest are header blocks the parser split up: kept as text files.
            name = _DEFAULT_NAMES.get(ctype, f"{ctype.split('/')[1]}.txt")
            out.attachments.append(
                MailAttachment(name, ctype, _header_blocks_bytes(part), "attachment")
            )
            return
        if part.is_multipart() and isinstance(children, list):
            if ctype in _MESSAGE_TYPES:
                self._message(part, out, depth)
            elif ctype == "multipart/alternative":
                self._alternative(children, out, depth)
            else:
                for child in children:
                    if isinstance(child, Message):
                        self.walk(child, out, depth + 1)
            return
        if ctype.startswith("multipart/"):
            # Its boundary never appears: what the sender wrote is all one text.
            out.defects.append(f"{ctype} without its boundary read as text")
            out.plain.append(self.text_of(part))
            return
        disposition = disposition_of(part)
        filename = filename_of(part)
        is_text = ctype in ("text/plain", "text/html") and disposition != "attachment"
        if is_text and (filename is None or depth == 0):
            text = self.text_of(part)
            if ctype == "text/html":
                out.html.append(text)
            else:
                out.plain.append(_extract_uuencoded(text, out.attachments))
            return
        self._attachment(part, ctype, filename, disposition, out)

    def _alternative(self, children: Sequence[object], out: BodyParts, depth: int) -> None:
        renditions: list[BodyParts] = []
        for child in children:
            if isinstance(child, Message):
                rendition = BodyParts()
                self.walk(child, rendition, depth + 1)
                renditions.append(rendition)
        plain = next((r.plain for r in reversed(renditions) if any(t.strip() for t in r.plain)), [])
        html = next((r.html for r in reversed(renditions) if any(t.strip() for t in r.html)), [])
        out.plain.extend(plain)
        out.html.extend(html)
        for rendition in renditions:
            out.attachments.extend(rendition.attachments)
            out.forwarded.extend(rendition.forwarded)
            out.defects.extend(rendition.defects)

    def _attachment(
        self,
        part: Message,
        ctype: str,
        filename: str | None,
        disposition: str | None,
        out: BodyParts,
    ) -> None:
        content_id = raw_headers(part).get("content-id")
        content_id = decode_value(content_id).strip().strip("<>").strip() if content_id else None
        inline = disposition == "inline" or (disposition is None and bool(content_id))
        out.attachments.append(
            MailAttachment(
                filename=filename or _DEFAULT_NAMES.get(ctype),
                content_type=ctype,
                content=part_bytes(part, self.spilled) if self.keep_attachments else b"",
                disposition="inline" if inline else "attachment",
                content_id=content_id or None,
            )
        )

    def _message(self, part: Message, out: BodyParts, depth: int) -> None:
        inner = part.get_payload(0)
        if not isinstance(inner, Message):
            return
        data = message_bytes(part, inner, self.spilled) if self.keep_attachments else b""
        encoding = raw_headers(part).get("content-transfer-encoding", "").strip().lower()
        if encoding in ("base64", "quoted-printable") and data:
            # Not allowed on message/rfc822, but sent: the parser read the encoded text as
            # a message; read the decoded bytes instead.
            inner = BytesParser(policy=policy.compat32).parsebytes(data)
        forwarded = self.forwarded(inner, depth)
        name = filename_of(part) or safe_filename(f"{forwarded.subject or 'message'}.eml")
        out.attachments.append(
            MailAttachment(name, content_type(part), data, _attachment_or_inline(part))
        )
        if len(out.forwarded) < self.limits.max_forwarded:
            out.forwarded.append(forwarded)

    def forwarded(self, inner: Message, depth: int) -> ForwardedMail:
        headers = raw_headers(inner)
        sender = parse_addresses([headers["from"]], self.hints) if "from" in headers else ()
        body = BodyParts()
        # Only the text is wanted: the attached mail's files are in its .eml already.
        walker = BodyWalker(self.limits, self.hints, self.spilled, keep_attachments=False)
        walker.parts_seen = self.parts_seen
        walker.walk(inner, body, depth + 1)
        self.parts_seen = walker.parts_seen
        text = "\n\n".join(t.strip("\n") for t in body.plain if t.strip())
        if not text.strip():
            text = "\n\n".join(html_to_text(h) for h in body.html)
        ids = parse_message_ids([headers["message-id"]]) if "message-id" in headers else ()
        return ForwardedMail(
            sender=sender[0] if sender else None,
            subject=decode_value(headers.get("subject", ""), self.hints),
            date=parse_date(headers.get("date")),
            message_id=ids[0] if ids else None,
            text=text.strip(),
        )


def _attachment_or_inline(part: Message) -> Literal["attachment", "inline"]:
    return "inline" if disposition_of(part) == "inline" else "attachment"


def message_bytes(
    part: Message, inner: Message, spilled: Mapping[str, memoryview] | None = None
) -> bytes:
    """The bytes of an attached message, as close to how it arrived as the parser allows
    (with the large bodies the parser never saw put back in)."""
    buffer = io.BytesIO()
    try:
        BytesGenerator(buffer, mangle_from_=False, policy=_REGENERATE).flatten(inner)
    except Exception:
        try:
            return inner.as_bytes(policy=policy.compat32)
        except Exception:
            return b""
    data = buffer.getvalue()
    for placeholder, body in (spilled or {}).items():
        marker = placeholder.encode("ascii")
        if marker in data:
            data = data.replace(marker, bytes(body).rstrip(b"\r\n"))
    encoding = raw_headers(part).get("content-transfer-encoding", "").strip().lower()
    if encoding == "base64":
        return _base64(data.decode("ascii", "ignore"))
    if encoding == "quoted-printable":
        return binascii.a2b_qp(data)
    return data
