"""Header values: encoded words, raw 8-bit bytes, address lists, ids and dates."""

from __future__ import annotations

from datetime import UTC, datetime

from app.inbound.mail.headers import (
    decode_value,
    decode_words,
    parse_addresses,
    parse_date,
    parse_message_ids,
)


def test_encoded_words_split_inside_a_character_are_joined() -> None:
    # "é" is C3 A9 in UTF-8, here split across two encoded words.
    assert decode_words("=?utf-8?Q?caf=C3?= =?utf-8?Q?=A9?=") == "café"


def test_encoded_words_lenient_on_padding_case_and_charset() -> None:
    assert decode_words("=?gb18030?B?suLK1A===?=") == "测试"
    assert decode_words("=?UTF-8?b?w6k=?=") == "é"
    assert decode_words("=?x-unknown?Q?caf=C3=A9?=") == "café"
    assert decode_words("=?utf-8*en?Q?hello?=") == "hello"
    assert decode_words("plain =?utf-8?Q?and?= encoded") == "plain and encoded"


def test_raw_8bit_header_bytes_are_decoded() -> None:
    raw = "Ren\udcc3\udca9 Dupont".encode("utf-8", "surrogateescape").decode(
        "utf-8", "surrogateescape"
    )
    assert decode_value(raw) == "René Dupont"


def test_folded_value_is_unfolded() -> None:
    assert decode_value("=?ISO-8859-1?Q?te?=\r\n =?ISO-8859-1?Q?st?=") == "test"
    assert decode_value("a long\r\n\tsubject") == "a long subject"


def test_address_lists() -> None:
    found = parse_addresses(
        [
            '"Doe, John" <John.Doe@Example.COM>, =?utf-8?Q?Ren=C3=A9?= <rene@example.fr>',
            "undisclosed-recipients:;",
            "bare@example.org, <angle@example.org>",
        ]
    )
    assert [(a.name, a.address) for a in found] == [
        ("Doe, John", "John.Doe@example.com"),
        ("René", "rene@example.fr"),
        ("", "bare@example.org"),
        ("", "angle@example.org"),
    ]


def test_a_whole_address_encoded_as_one_word() -> None:
    (found,) = parse_addresses(["=?utf-8?B?Sm9obiBEb2UgPGpvaG5AZXhhbXBsZS5jb20+?="])
    assert (found.name, found.address) == ("John Doe", "john@example.com")


def test_encoded_comma_in_a_display_name_does_not_split_the_address() -> None:
    (found,) = parse_addresses(["=?utf-8?Q?M=C3=BCller=2C_Hans?= <hans@example.de>"])
    assert (found.name, found.address) == ("Müller, Hans", "hans@example.de")


def test_message_ids() -> None:
    assert parse_message_ids(["<a@b> <c@d>\r\n <a@b>", "bare@id.example"]) == (
        "a@b",
        "c@d",
        "bare@id.example",
    )
    assert parse_message_ids(["<spaced @ id>"]) == ("spaced@id",)
    assert parse_message_ids(["no id here"]) == ()


def test_dates() -> None:
    assert parse_date("Mon, 5 Jan 2026 11:13:52 +0100") == datetime(
        2026, 1, 5, 10, 13, 52, tzinfo=UTC
    )
    assert parse_date("5 Jan 2026 11:13:52") == datetime(2026, 1, 5, 11, 13, 52, tzinfo=UTC)
    assert parse_date("yesterday") is None
    assert parse_date("Mon, 5 Jan 9999 11:13:52 +0100") is None
    assert parse_date(None) is None
