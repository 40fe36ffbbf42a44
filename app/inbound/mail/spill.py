"""Large base64 bodies kept out of the standard library's parser.

`email`'s feed parser holds every body as a list of line strings before joining them:
for a 15 MB attachment that is some 260,000 small strings, about 35 MB, on top of the
joined text. So before parsing, each large base64 body of a MIME part is swapped for a
one-line placeholder and later decoded straight from the raw bytes.

Only what is certainly a base64 part body is swapped: a block of header lines that
starts right after a boundary line (or at the top of the mail), says
`Content-Transfer-Encoding: base64` and is not a multipart or message part, followed
by a body of nothing but base64 characters up to the next line starting with "--"
(which base64 cannot contain). Anything else goes to the parser untouched.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

SPILL_THRESHOLD = 256 * 1024
_MAX_HEADER_LINES = 64

_BASE64_HEADER = re.compile(rb"^content-transfer-encoding:[ \t]*base64[ \t]*\r?$", re.I | re.M)
_HEADER_LINE = re.compile(rb"^(?:[!-9;-~]+[ \t]*:|[ \t])")
_CONTAINER_TYPE = re.compile(rb"^content-type:[ \t]*(?:multipart|message)/", re.I | re.M)
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")
_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/=\r\n\t ]")


@dataclass
class Spilled:
    """What to feed the parser (`segments`, in order) and the bodies taken out of it,
    by the placeholder that stands for each."""

    segments: list[memoryview] = field(default_factory=list)
    bodies: dict[str, memoryview] = field(default_factory=dict)


def _header_block_start(raw: bytes, line_start: int) -> int | None:
    """Where the header block holding the line at `line_start` begins, if that block
    follows a boundary line or opens the mail; None otherwise."""
    start = line_start
    for _ in range(_MAX_HEADER_LINES):
        if start == 0:
            return 0
        previous = raw.rfind(b"\n", 0, start - 1) + 1
        line = raw[previous:start]
        if line.startswith(b"--"):
            return start
        if not _HEADER_LINE.match(line):
            return None
        start = previous
    return None


def spill_large_bodies(raw: bytes, threshold: int = SPILL_THRESHOLD) -> Spilled:
    """Split `raw` for feeding, with large base64 bodies replaced (see the module doc)."""
    view = memoryview(raw)
    spilled = Spilled()
    if len(raw) < threshold:
        spilled.segments.append(view)
        return spilled
    nonce = secrets.token_hex(8)
    position = 0
    for match in _BASE64_HEADER.finditer(raw):
        if match.start() < position:
            continue
        block_start = _header_block_start(raw, match.start())
        header_end = _BLANK_LINE.search(raw, match.end())
        if block_start is None or header_end is None:
            continue
        if _CONTAINER_TYPE.search(raw, block_start, header_end.start()):
            continue
        body_start = header_end.end()
        body_end = raw.find(b"\n--", body_start)
        body_end = len(raw) if body_end < 0 else body_end
        if body_end - body_start < threshold or _NOT_BASE64.search(raw, body_start, body_end):
            continue
        placeholder = f"@spilled@{nonce}@{len(spilled.bodies)}@"
        spilled.bodies[placeholder] = view[body_start:body_end]
        spilled.segments.append(view[position:body_start])
        spilled.segments.append(memoryview(placeholder.encode("ascii")))
        position = body_end
    spilled.segments.append(view[position:])
    return spilled
