"""Identities in one canonical form: the same address, number or handle always matches."""

from __future__ import annotations

import pytest

from app.identities.normalise import IdentityRef, InvalidIdentity
from app.models import IdentityKind


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("Ada.Lovelace@Example.COM", "ada.lovelace@example.com"),
        ("  ada@example.com ", "ada@example.com"),
        ("ada@bücher.example", "ada@bücher.example"),
    ],
)
def test_email_addresses_are_lower_case(given: str, stored: str) -> None:
    assert IdentityRef.email(given) == IdentityRef(IdentityKind.EMAIL, stored)


@pytest.mark.parametrize(
    ("given", "region", "stored"),
    [
        ("+39 333 123 4567", None, "+393331234567"),
        ("+39-333-1234567", None, "+393331234567"),
        ("333 123 4567", "IT", "+393331234567"),
        ("(415) 555-2671", "US", "+14155552671"),
        ("+1 415 555 2671", "IT", "+14155552671"),
    ],
)
def test_phone_numbers_are_e164(given: str, region: str | None, stored: str) -> None:
    assert IdentityRef.phone(given, region).value == stored


@pytest.mark.parametrize(
    ("source", "handle", "stored"),
    [
        ("Twitter", "@AdaLovelace", "adalovelace"),
        ("telegram", "ADA_l", "ada_l"),
        ("youtube", "UCxY1AbC", "UCxY1AbC"),  # an opaque id: its case matters
        ("whatsapp", " 393331234567 ", "393331234567"),
    ],
)
def test_handles_are_normalised_per_source(source: str, handle: str, stored: str) -> None:
    ref = IdentityRef.handle(source, handle)
    assert (ref.kind, ref.source, ref.value) == (IdentityKind.HANDLE, source.lower(), stored)


@pytest.mark.parametrize(
    ("kind", "value", "source"),
    [
        (IdentityKind.EMAIL, "not an address", None),
        (IdentityKind.EMAIL, "ada@example.com", "twitter"),
        (IdentityKind.PHONE, "333 123 4567", None),  # national, and no region given
        (IdentityKind.PHONE, "+39 1", None),
        (IdentityKind.PHONE, "call me maybe", None),
        (IdentityKind.HANDLE, "ada", None),
        (IdentityKind.HANDLE, "ada", "not a source!"),
        (IdentityKind.HANDLE, "two words", "twitter"),
        (IdentityKind.HANDLE, "@", "twitter"),
        (IdentityKind.HANDLE, "x" * 321, "opaque"),
    ],
)
def test_what_is_not_an_identity(kind: IdentityKind, value: str, source: str | None) -> None:
    with pytest.raises(InvalidIdentity):
        IdentityRef.of(kind, value, source)
