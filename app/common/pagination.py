"""Cursor pagination: opaque cursors over a keyset, `{items, next_cursor}` pages."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from app.common.types import MAX_BIGINT
from app.errors import BadRequest

Limit = Annotated[int, Query(ge=1, le=200, description="Page size.")]
Cursor = Annotated[
    str | None,
    Query(max_length=512, description="Opaque cursor from the previous page's next_cursor."),
]


ItemT = TypeVar("ItemT")


class Page(BaseModel, Generic[ItemT]):
    items: list[ItemT]
    next_cursor: str | None


def encode_cursor(position: dict[str, Any]) -> str:
    raw = json.dumps(position, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, expected_keys: frozenset[str]) -> dict[str, Any]:
    """Decode a cursor we issued; anything else is a 400, never a crash."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        position = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        position = None
    if not isinstance(position, dict) or set(position) != expected_keys:
        raise BadRequest("The cursor is not valid; start again without one.")
    return position


def decode_id_cursor(cursor: str | None) -> int | None:
    """The position of a page ordered by id alone."""
    if cursor is None:
        return None
    value = decode_cursor(cursor, frozenset({"id"}))["id"]
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_BIGINT:
        raise BadRequest("The cursor is not valid; start again without one.")
    return value


def next_id_cursor(ids: list[int], limit: int) -> str | None:
    return encode_cursor({"id": ids[-1]}) if ids and len(ids) == limit else None
