"""Whatever arrives, the parser answers with a ParsedMail or a typed failure, and
every text it hands on can be stored: random bytes, random but mail-shaped messages,
and real mails with random damage."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.inbound.mail import MailParseFailure, ParsedMail, classify, parse_mail
from tests.inbound.mail.sources import FIXTURES

_UNSAFE = re.compile("[\x00\ud800-\udfff]")
_FIXTURE_BYTES = [path.read_bytes() for path in sorted(FIXTURES.glob("*.eml"))]

header_names = st.sampled_from(
    [
        "From",
        "To",
        "Cc",
        "Subject",
        "Date",
        "Message-ID",
        "In-Reply-To",
        "References",
        "Content-Type",
        "Content-Transfer-Encoding",
        "Content-Disposition",
        "Auto-Submitted",
        "Precedence",
        "X-Failed-Recipients",
        "Delivered-To",
    ]
)
charsets = st.sampled_from(
    ["utf-8", "iso-8859-1", "koi8-r", "gb2312", "iso-2022-jp", "x-bogus", "", "utf-7"]
)
fragments = st.one_of(
    st.text(max_size=40),
    st.binary(max_size=20).map(lambda b: b.decode("latin-1")),
    st.builds(lambda c, t: f"=?{c}?B?{t}?=", charsets, st.text("A-Za-z0-9+/=", max_size=12)),
    st.builds(lambda c, t: f"=?{c}?Q?{t}?=", charsets, st.text("=_AZaz09%?", max_size=12)),
    st.sampled_from(
        [
            "multipart/mixed; boundary=b",
            "multipart/alternative; boundary=b",
            "message/rfc822",
            "text/html; charset=",
            "base64",
            "quoted-printable",
            "x-uuencode",
            "attachment; filename*0*=utf-8''%E2%82; filename*1=\"x.txt\"",
            "<a@b> <c@d",
            "Mon, 99 Foo 2026 25:61:61 +9999",
        ]
    ),
)
header_lines = st.builds(
    lambda name, parts: f"{name}: {' '.join(parts)}",
    header_names,
    st.lists(fragments, max_size=4),
)
bodies = st.lists(
    st.one_of(
        st.sampled_from(
            ["--b", "--b--", "Content-Type: text/plain", "", "begin 644 x.bin", "end", "> q"]
        ),
        fragments,
    ),
    max_size=12,
)


def _mail_shaped(headers: list[str], body: list[str], newline: str) -> bytes:
    text = newline.join(headers) + newline + newline + newline.join(body)
    return text.encode("utf-8", "surrogatepass")


def _check(raw: bytes) -> None:
    result = parse_mail(raw)
    assert isinstance(result, ParsedMail | MailParseFailure)
    if isinstance(result, MailParseFailure):
        return
    texts = [result.subject, result.text, result.html or "", result.message_id]
    texts += [result.reply.new_text, result.reply.quoted, result.reply.signature]
    texts += [f"{a.name}{a.address}" for a in (*result.from_addresses, *result.to, *result.cc)]
    texts += [a.filename or "" for a in result.attachments] + [v for _, v in result.headers]
    for text in texts:
        assert not _UNSAFE.search(text)
    classify(result)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=3000))
def test_random_bytes(raw: bytes) -> None:
    _check(raw)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(header_lines, max_size=10), bodies, st.sampled_from(["\n", "\r\n", "\r"]))
def test_mail_shaped_input(headers: list[str], body: list[str], newline: str) -> None:
    _check(_mail_shaped(headers, body, newline))


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(_FIXTURE_BYTES),
    st.lists(st.tuples(st.floats(0, 1), st.binary(max_size=4)), min_size=1, max_size=6),
    st.floats(0, 1),
)
def test_damaged_real_mail(raw: bytes, edits: list[tuple[float, bytes]], cut: float) -> None:
    data = bytearray(raw)
    for where, replacement in edits:
        index = int(where * len(data))
        data[index : index + len(replacement)] = replacement
    _check(bytes(data[: max(1, int(cut * len(data)))]))
