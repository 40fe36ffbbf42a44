"""Size and shape limits: a mail too large, empty or not a mail fails with its reason;
absurd structures are cut short, never crash the parser."""

from __future__ import annotations

from app.config import Settings
from app.inbound.mail import (
    FailureReason,
    MailLimits,
    MailParseFailure,
    MessageIdSource,
    ParsedMail,
    limits_from_settings,
    parse_mail,
)
from tests.inbound.mail.sources import parsed


def test_too_large_empty_and_not_a_mail() -> None:
    raw = b"From: a@b.example\n\n" + b"x" * 2000
    failure = parse_mail(raw, MailLimits(max_message_bytes=1000))
    assert isinstance(failure, MailParseFailure)
    assert failure.reason is FailureReason.TOO_LARGE
    assert failure.size == len(raw)
    assert len(failure.content_hash) == 64
    empty = parse_mail(b" \r\n")
    assert isinstance(empty, MailParseFailure)
    assert empty.reason is FailureReason.EMPTY
    prose = parse_mail(b"Lorem ipsum dolor sit amet\nconsectetur adipisicing elit\n")
    assert isinstance(prose, MailParseFailure)
    assert prose.reason is FailureReason.NOT_A_MESSAGE


def test_deep_nesting_is_cut_short() -> None:
    depth = 200
    head = "".join(
        f"Content-Type: multipart/mixed; boundary=b{i}\n\n--b{i}\n" for i in range(depth)
    )
    tail = "".join(f"\n--b{i}--\n" for i in reversed(range(depth)))
    raw = f"From: a@b.example\nSubject: deep\n{head}Content-Type: text/plain\n\nhi{tail}".encode()
    result = parse_mail(raw)
    if isinstance(result, ParsedMail):
        assert any("nested deeper" in defect for defect in result.defects)
    else:
        assert result.reason is FailureReason.UNPARSEABLE


def test_too_many_parts_are_skipped_with_a_defect() -> None:
    parts = "".join(
        f"--b\nContent-Type: application/octet-stream\nContent-Disposition: attachment;"
        f" filename=f{i}.bin\n\nx\n"
        for i in range(30)
    )
    raw = f"From: a@b.example\nContent-Type: multipart/mixed; boundary=b\n\n{parts}--b--\n"
    result = parse_mail(raw.encode(), MailLimits(max_parts=10))
    assert isinstance(result, ParsedMail)
    assert len(result.attachments) == 9  # the tenth part is the multipart itself
    assert any("more than 10 parts" in defect for defect in result.defects)


def test_same_mail_without_message_id_gets_the_same_id_whatever_the_route() -> None:
    body = (
        b"From: Ann <ann@customer.example>\nSubject: Help\n"
        b"Date: Mon, 5 Jan 2026 10:00:00 +0000\n\nHi\n"
    )
    first = parsed(b"Received: from a by b; Mon, 5 Jan 2026 10:00:01 +0000\n" + body)
    second = parsed(b"Received: from c by d; Mon, 5 Jan 2026 10:00:09 +0000\n" + body)
    assert first.message_id_source is MessageIdSource.CONTENT_HASH
    assert first.message_id == second.message_id
    assert first.message_id.endswith("@content-hash.invalid")
    other = parsed(body.replace(b"Hi", b"Hello"))
    assert other.message_id != first.message_id


def test_nul_bytes_never_reach_the_text() -> None:
    result = parsed(b"From: a\x00b@c.example\nSubject: x\x00y\n\nbody\x00text\n")
    assert result.subject == "xy"
    assert result.text == "bodytext"
    assert result.sender is not None
    assert "\x00" not in result.sender.address


def test_leading_blank_lines_and_mbox_from_line() -> None:
    result = parsed(
        b"\r\n\r\nFrom ann@x.example Mon Jan  5 10:00:00 2026\n"
        b"From: ann@x.example\nSubject: s\n\nb\n"
    )
    assert result.subject == "s"
    assert result.text == "b"


def test_limits_come_from_the_settings() -> None:
    settings = Settings(
        inbound_max_message_bytes=100_000,
        inbound_fallback_charsets="koi8-r, windows-1251",  # type: ignore[arg-type]
    )
    limits = limits_from_settings(settings)
    assert limits.max_message_bytes == 100_000
    assert limits.fallback_charsets == ("koi8-r", "windows-1251")
    short_russian = b"From: a@b.example\nSubject: s\n\n" + "ТЕСТ".encode("koi8_r")
    assert parse_mail(short_russian, limits).text == "ТЕСТ"  # type: ignore[union-attr]
