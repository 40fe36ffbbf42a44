"""Constrained input types shared by every domain's schemas.

PostgreSQL text cannot hold NUL bytes and bigint stops at 2**63-1: both are refused
here, at the edge, with a 422 that says why, instead of failing deep in the driver.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated
from zoneinfo import available_timezones

from fastapi import Path
from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, StringConstraints

MAX_BIGINT = 2**63 - 1


def reject_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL (\\u0000) characters")
    return value


def _valid_timezone(value: str) -> str:
    if value not in _TIMEZONES:
        raise ValueError(f"unknown time zone {value[:64]!r}; use an IANA name like Europe/Rome")
    return value


_TIMEZONES = frozenset(available_timezones())
_PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")

# Strict: JSON true or 1.0 is not an id.
Id = Annotated[int, Field(ge=1, le=MAX_BIGINT, strict=True)]
IdPath = Annotated[int, Path(ge=1, le=MAX_BIGINT)]

Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(reject_nul),
]
ShortText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(reject_nul),
]
Phone = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=_PHONE.pattern),
    Field(description="E.164, e.g. +393331234567"),
]
TimeZoneName = Annotated[str, StringConstraints(max_length=64), AfterValidator(_valid_timezone)]
Locale = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$"),
    Field(description="BCP 47 language tag such as en, it or pt-BR"),
]

# RFC 3339 as the OpenAPI `date-time` format means it. Pydantic alone would also read
# numbers ("0.5", "1700000000") as Unix timestamps, which no client means in a query.
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", re.ASCII
)


def _rfc3339_text(value: object) -> object:
    if isinstance(value, str) and not _RFC3339.fullmatch(value):
        raise ValueError("must be an RFC 3339 date-time such as 2026-03-01T09:00:00Z")
    return value


QueryDatetime = Annotated[AwareDatetime, BeforeValidator(_rfc3339_text)]


def _rfc3339_only(value: object) -> object:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError("must be an RFC 3339 date-time string such as 2026-03-01T09:00:00Z")
    return _rfc3339_text(value)


# In a JSON body too, a date-time is an RFC 3339 string with its offset, never a number.
BodyDatetime = Annotated[AwareDatetime, BeforeValidator(_rfc3339_only)]
