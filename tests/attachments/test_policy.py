"""The type policy: bytes over claims, programs never kept, files always downloaded."""

from __future__ import annotations

import pytest

from app.attachments.policy import (
    AttachmentPolicy,
    AttachmentRejected,
    RejectReason,
    content_disposition,
    download_headers,
    normalize_type,
    sniff,
)

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 32
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
PE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 48


def test_sniffing() -> None:
    assert sniff(PNG) == "image/png"
    assert sniff(PDF) == "application/pdf"
    assert sniff(PE) == "application/x-dosexec"
    assert sniff(b"\x7fELF\x02\x01\x01") == "application/x-executable"
    assert sniff(b"#!/bin/sh\nrm -rf /") == "text/x-shellscript"
    assert sniff(b"\xef\xbb\xbf  <!DOCTYPE html><html>") == "text/html"
    assert sniff(b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg">') == (
        "image/svg+xml"
    )
    assert sniff(b"just some words") is None


def test_recorded_type_trusts_bytes_over_generic_or_contradicting_claims() -> None:
    policy = AttachmentPolicy()
    assert policy.recorded_type("photo.png", "application/octet-stream", PNG) == "image/png"
    assert policy.recorded_type("invoice.pdf", "Application/PDF; name=x", PDF) == (
        "application/pdf"
    )
    assert policy.recorded_type("image.jpg", "image/jpeg", b"<html><script>") == "text/html"
    assert policy.recorded_type("notes.txt", "text/plain", b"hello") == "text/plain"
    assert policy.recorded_type(None, None, b"") == "application/octet-stream"


def test_programs_and_blocked_extensions_are_refused() -> None:
    policy = AttachmentPolicy()
    for filename, declared, head in (
        ("cat.jpg", "image/jpeg", PE),
        ("setup.exe", "application/octet-stream", b"anything"),
        ("Invoice.PDF.js", "application/pdf", PDF),
        ("run.sh", "text/plain", b"#!/bin/bash\n"),
        ("app.bin", "application/x-msdownload", b"\x00\x01"),
    ):
        with pytest.raises(AttachmentRejected) as refused:
            policy.recorded_type(filename, declared, head)
        assert refused.value.reason is RejectReason.TYPE_DENIED


def test_allow_list_narrows_what_is_accepted() -> None:
    policy = AttachmentPolicy(allowed_types=("image/*", "application/pdf"))
    assert policy.recorded_type("a.png", "image/png", PNG) == "image/png"
    assert policy.recorded_type("a.pdf", "application/pdf", PDF) == "application/pdf"
    with pytest.raises(AttachmentRejected):
        policy.recorded_type("a.txt", "text/plain", b"text")


def test_size_limit() -> None:
    policy = AttachmentPolicy(max_bytes=10)
    policy.check_size(10)
    with pytest.raises(AttachmentRejected) as refused:
        policy.check_size(11)
    assert refused.value.reason is RejectReason.TOO_LARGE


def test_downloads_are_never_inline_and_never_sniffed() -> None:
    headers = download_headers('évil "page".html', "text/html")
    assert headers["Content-Disposition"] == (
        "attachment; filename=\"_vil _page_.html\"; filename*=UTF-8''%C3%A9vil%20%22page%22.html"
    )
    assert headers["Content-Type"] == "text/html"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in headers["Content-Security-Policy"]
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert content_disposition(None) == "attachment"
    assert normalize_type("text/html\r\nSet-Cookie: x=1") == "application/octet-stream"
