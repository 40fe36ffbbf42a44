"""Resume cursors for the live channel and X-Events-Cursor.

A cursor is a position in commit order: the xmin of a PostgreSQL snapshot, i.e. every
transaction with a smaller id had finished when it was taken. Whoever holds cursor C
has every event whose transaction id is below C; resuming replays events with
transaction id >= C, so an event that committed late, after others with larger ids,
is never skipped (it may be sent twice; clients drop ids they already have).
It also carries when it was issued, so a cursor older than the replay window is
answered with resync_required instead of an unbounded replay.
"""

from __future__ import annotations

import base64
import binascii
import time
from dataclasses import dataclass

_VERSION = "c1"


@dataclass(frozen=True, slots=True, order=True)
class Cursor:
    xmin: int
    issued_at: float

    def encode(self) -> str:
        raw = f"{_VERSION}.{self.xmin}.{int(self.issued_at)}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def advanced_to(self, xmin: int) -> Cursor:
        return Cursor(max(self.xmin, xmin), time.time()) if xmin >= self.xmin else self


class InvalidCursorError(ValueError):
    pass


def decode_cursor(text: str) -> Cursor:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        version, xmin, issued = raw.split(".")
        if version != _VERSION:
            raise ValueError(version)
        cursor = Cursor(int(xmin), float(issued))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidCursorError("not a cursor this server issued") from None
    if cursor.xmin < 0:
        raise InvalidCursorError("not a cursor this server issued")
    return cursor


def cursor_now(xmin: int) -> Cursor:
    return Cursor(xmin, time.time())


EVENTS_CURSOR_HEADER = "X-Events-Cursor"
