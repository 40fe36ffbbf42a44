"""Identities in one canonical form, so the same address, number or handle always
matches: email addresses lower case, phone numbers in E.164 (Google's libphonenumber,
through `phonenumbers`), handles per source.

Pure functions, no database: the intake of every channel normalises what it received
with these before it looks anyone up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from app.models import IdentityKind

_SOURCE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,31}$")
MAX_VALUE = 320

# Networks whose user names ignore case (@Ada and @ada are one account) and are written
# with a leading "@". Elsewhere a handle is an opaque id, kept exactly as given (some,
# like YouTube channel ids, are case-sensitive).
CASE_INSENSITIVE_SOURCES = frozenset(
    {"twitter", "x", "instagram", "telegram", "tiktok", "github", "reddit", "mastodon", "threads"}
)


class InvalidIdentity(ValueError):
    """Not an address, number or handle we can store."""


@dataclass(frozen=True, slots=True)
class IdentityRef:
    """A normalised identity: what a customer is known by on one channel."""

    kind: IdentityKind
    value: str
    source: str = ""  # the network of a handle; empty for email and phone

    @classmethod
    def email(cls, address: str) -> IdentityRef:
        return cls(IdentityKind.EMAIL, normalise_email(address))

    @classmethod
    def phone(cls, number: str, region: str | None = None) -> IdentityRef:
        return cls(IdentityKind.PHONE, normalise_phone(number, region))

    @classmethod
    def handle(cls, source: str, handle: str) -> IdentityRef:
        source = normalise_source(source)
        return cls(IdentityKind.HANDLE, normalise_handle(source, handle), source)

    @classmethod
    def of(cls, kind: IdentityKind, value: str, source: str | None = None) -> IdentityRef:
        """Any kind, from what an admin or a connector sent."""
        if kind is IdentityKind.HANDLE:
            if not source:
                raise InvalidIdentity("a handle needs its source, e.g. twitter or whatsapp")
            return cls.handle(source, value)
        if source:
            raise InvalidIdentity(f"an identity of kind {kind.value} has no source")
        return cls.email(value) if kind is IdentityKind.EMAIL else cls.phone(value)


def _plain(value: str, what: str) -> str:
    value = value.strip()
    if not value:
        raise InvalidIdentity(f"the {what} is empty")
    if len(value) > MAX_VALUE:
        raise InvalidIdentity(f"the {what} is longer than {MAX_VALUE} characters")
    if any(ch.isspace() or ord(ch) < 32 or ch == "\x7f" for ch in value):
        raise InvalidIdentity(f"the {what} contains spaces or control characters")
    return value


def normalise_email(address: str) -> str:
    """Lower case, the domain in its Unicode form: the way users' addresses are stored."""
    address = _plain(address, "email address")
    try:
        checked = validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidIdentity(f"not a valid email address: {exc}") from None
    return str(checked.normalized).lower()


def normalise_phone(number: str, region: str | None = None) -> str:
    """E.164 (`+393331234567`). Without `region` the number must be international
    (`+39 333 123 4567`, `0039...` is not); with one (ISO 3166 code, `IT`), a national
    number is read as that country's."""
    number = number.strip()
    if not number or len(number) > 64:
        raise InvalidIdentity("not a phone number")
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidIdentity(f"not a phone number: {exc}") from None
    # "Possible" (a plausible length for its country) rather than "valid" (an allocated
    # range): ranges are allocated faster than any copy of the metadata is updated.
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidIdentity("not a possible phone number for its country")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalise_source(source: str) -> str:
    source = source.strip().lower()
    if not _SOURCE.match(source):
        raise InvalidIdentity(
            "a source is 1 to 32 letters, digits, '_', '.' or '-', such as twitter or whatsapp"
        )
    return source


def normalise_handle(source: str, handle: str) -> str:
    handle = _plain(handle, "handle")
    if source in CASE_INSENSITIVE_SOURCES:
        handle = handle.removeprefix("@").lower()
        if not handle:
            raise InvalidIdentity("the handle is empty")
    return handle
