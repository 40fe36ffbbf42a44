"""Large base64 bodies bypass the standard parser's line lists, and nothing else does."""

from __future__ import annotations

import base64
import tracemalloc

from app.inbound.mail.spill import spill_large_bodies
from tests.inbound.mail.sources import parsed


def _b64(data: bytes) -> bytes:
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


def _mail(payload: bytes, *, part_type: bytes = b"application/octet-stream") -> bytes:
    return (
        b"From: a@customer.example\r\nSubject: big\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
        b"--b\r\nContent-Type: " + part_type + b"\r\n"
        b"Content-Disposition: attachment; filename=data.bin\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + _b64(payload) + b"--b--\r\n"
    )


def test_a_large_attachment_is_decoded_from_the_raw_bytes() -> None:
    payload = bytes(range(256)) * 2048  # 512 KiB
    raw = _mail(payload)
    spilled = spill_large_bodies(raw)
    assert len(spilled.bodies) == 1
    assert sum(len(segment) for segment in spilled.segments) < len(raw) // 10
    mail = parsed(raw)
    assert mail.text == "See attached."
    (attachment,) = mail.attachments
    assert attachment.content == payload
    assert attachment.filename == "data.bin"


def test_only_certain_base64_part_bodies_are_taken_out() -> None:
    big = _b64(bytes(400_000))
    quoted_in_text = (
        b"From: a@customer.example\r\nContent-Type: text/plain\r\n\r\n"
        b"I got this:\r\nContent-Transfer-Encoding: base64\r\n\r\n" + big
    )
    assert spill_large_bodies(quoted_in_text).bodies == {}
    forwarded = _mail(b"From: x@y.example\r\n\r\nhi\r\n" * 30_000, part_type=b"message/rfc822")
    assert spill_large_bodies(forwarded).bodies == {}
    not_base64 = _mail(bytes(400_000)).replace(b"AAAA", b"AA-A", 1)
    assert spill_large_bodies(not_base64).bodies == {}


def test_parsing_a_large_mail_allocates_little_beyond_its_attachments() -> None:
    payload = bytes(range(256)) * (6 * 1024 * 4)  # 6 MiB
    raw = _mail(payload)
    tracemalloc.start()
    try:
        mail = parsed(raw)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert mail.attachments[0].content == payload
    # The decoded attachment (6 MiB) and small change, against 8.1 MiB of raw mail.
    assert peak < 1.2 * len(payload), (peak, len(raw))


def test_a_forwarded_mail_keeps_its_large_attachment_in_the_eml() -> None:
    payload = bytes(range(256)) * 1600  # 400 KiB
    inner = (
        b"From: b@vendor.example\r\nSubject: inner\r\nMessage-ID: <inner@vendor.example>\r\n"
        b'Content-Type: multipart/mixed; boundary="i"\r\n\r\n'
        b"--i\r\nContent-Type: text/plain\r\n\r\nThe inner text.\r\n"
        b"--i\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + _b64(payload) + b"--i--\r\n"
    )
    raw = (
        b"From: a@customer.example\r\nSubject: Fwd: inner\r\n"
        b'Content-Type: multipart/mixed; boundary="o"\r\n\r\n'
        b"--o\r\nContent-Type: text/plain\r\n\r\nSee the attached mail.\r\n"
        b"--o\r\nContent-Type: message/rfc822\r\n\r\n" + inner + b"\r\n--o--\r\n"
    )
    assert len(spill_large_bodies(raw).bodies) == 1
    mail = parsed(raw)
    (eml,) = mail.attachments
    assert eml.content_type == "message/rfc822"
    reread = parsed(eml.content)
    assert reread.message_id == "inner@vendor.example"
    assert reread.attachments[0].content == payload
    assert mail.forwarded[0].text == "The inner text."
