"""What may be stored, under which type, and how it is served.

The type a sender declares is a claim; the first bytes are evidence. A file whose bytes
are an executable (Windows PE, ELF, Mach-O, a script with a shebang) is refused
whatever it claims to be, as are the file names mail services block (Gmail's list of
extensions); an allow-list, when configured, narrows the rest. The recorded type is the
sniffed one when the declared type is generic (application/octet-stream) or contradicts
the bytes, so nobody later trusts a claim the bytes disproved.

Files are always served as downloads (`Content-Disposition: attachment`), with
`nosniff` and a sandboxing CSP, so an HTML or SVG attachment never runs in the desk's
origin.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import quote

import puremagic

from app.denied_files import DEFAULT_DENIED_EXTENSIONS, DEFAULT_DENIED_TYPES

SNIFF_BYTES = 8192

GENERIC_TYPES = frozenset(
    {
        "",
        "application/octet-stream",
        "binary/octet-stream",
        "application/unknown",
        "application/x-unknown",
        "application/binary",
        "application/force-download",
    }
)
_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")
_HTML_START = re.compile(
    rb"^\s*<(?:!doctype\s+html|html|head|body|script|iframe|meta|title|svg|\?xml)[\s>/]",
    re.IGNORECASE,
)
_FILENAME_FALLBACK = re.compile(r"[^A-Za-z0-9 !#$&+,.\-;=@\[\]^_`{}~()]")


class RejectReason(StrEnum):
    TOO_LARGE = "too_large"
    TYPE_DENIED = "type_denied"


class AttachmentRejected(Exception):
    """A file the policy refuses; `reason` says which rule, `detail` says it to people."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class AttachmentPolicy:
    """`max_bytes` per file; types and extensions refused; `allowed_types`, when not
    empty, the only types accepted (`image/*` style wildcards allowed)."""

    max_bytes: int = 25 * 1024 * 1024
    denied_types: tuple[str, ...] = DEFAULT_DENIED_TYPES
    denied_extensions: tuple[str, ...] = DEFAULT_DENIED_EXTENSIONS
    allowed_types: tuple[str, ...] = field(default=())

    def check_size(self, size: int) -> None:
        if size > self.max_bytes:
            raise AttachmentRejected(
                RejectReason.TOO_LARGE, f"the file is larger than {self.max_bytes} bytes"
            )

    def recorded_type(self, filename: str | None, declared: str | None, head: bytes) -> str:
        """The type to record for a file, or AttachmentRejected when it may not be kept.
        `head` is the file's first bytes (SNIFF_BYTES are enough)."""
        declared_type = normalize_type(declared)
        sniffed = sniff(head)
        extension = (filename or "").rsplit(".", 1)[-1].lower() if "." in (filename or "") else ""
        if extension and extension in {e.lower().lstrip(".") for e in self.denied_extensions}:
            raise AttachmentRejected(
                RejectReason.TYPE_DENIED, f"files ending in .{extension} are not accepted"
            )
        if sniffed in EXECUTABLE_TYPES:
            raise AttachmentRejected(
                RejectReason.TYPE_DENIED, "the file is a program, which is not accepted"
            )
        recorded = declared_type
        if sniffed is not None and (
            declared_type in GENERIC_TYPES or declared_type.split("/")[0] != sniffed.split("/")[0]
        ):
            recorded = sniffed
        for candidate in {recorded, declared_type}:
            if _matches(candidate, self.denied_types):
                raise AttachmentRejected(
                    RejectReason.TYPE_DENIED, f"files of type {candidate} are not accepted"
                )
        if self.allowed_types and not _matches(recorded, self.allowed_types):
            raise AttachmentRejected(
                RejectReason.TYPE_DENIED, f"files of type {recorded} are not accepted"
            )
        return recorded


EXECUTABLE_TYPES = frozenset(
    {
        "application/x-dosexec",
        "application/x-executable",
        "application/x-mach-binary",
        "text/x-shellscript",
    }
)


def _matches(content_type: str, patterns: Iterable[str]) -> bool:
    for pattern in patterns:
        pattern = pattern.strip().lower()
        if pattern == content_type or (
            pattern.endswith("/*") and content_type.startswith(pattern[:-1])
        ):
            return True
    return False


def normalize_type(content_type: str | None) -> str:
    """`Text/HTML; charset=utf-8` -> `text/html`; anything malformed -> octet-stream."""
    value = (content_type or "").split(";", 1)[0].strip().lower()
    return value if _TYPE.match(value) else "application/octet-stream"


def sniff(head: bytes) -> str | None:
    """The type the first bytes of a file show, or None when they show nothing certain."""
    if head.startswith(b"MZ"):
        return "application/x-dosexec"
    if head.startswith(b"\x7fELF"):
        return "application/x-executable"
    if head[:4] in (
        b"\xfe\xed\xfa\xce",
        b"\xfe\xed\xfa\xcf",
        b"\xce\xfa\xed\xfe",
        b"\xcf\xfa\xed\xfe",
        b"\xca\xfe\xba\xbe",
    ):
        return "application/x-mach-binary"
    if head.startswith(b"#!"):
        return "text/x-shellscript"
    text_head = head.lstrip(b"\xef\xbb\xbf")
    if _HTML_START.match(text_head):
        return "image/svg+xml" if b"<svg" in text_head[:1024].lower() else "text/html"
    if not head:
        return None
    try:
        found = puremagic.from_string(head, mime=True)
    except (puremagic.PureError, ValueError):
        return None
    return found if found and _TYPE.match(found) else None


def content_disposition(filename: str | None) -> str:
    """`attachment` with the file name for every browser: an ASCII fallback and the
    RFC 6266 / RFC 5987 UTF-8 form."""
    if not filename:
        return "attachment"
    fallback = _FILENAME_FALLBACK.sub("_", filename).strip() or "download"
    encoded = quote(filename, safe="")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


def download_headers(filename: str | None, content_type: str) -> dict[str, str]:
    """The response headers for serving a stored file: always a download, never sniffed
    into something else by the browser, never able to run script in our origin."""
    return {
        "Content-Type": normalize_type(content_type),
        "Content-Disposition": content_disposition(filename),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cross-Origin-Resource-Policy": "same-origin",
        "Cache-Control": "private, max-age=0, must-revalidate",
    }
