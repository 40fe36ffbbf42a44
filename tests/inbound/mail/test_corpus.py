"""Real mail nobody here wrote: every message of the shared corpus (Request Tracker's,
FreeScout's and django-helpdesk's test mail) and of CPython's email tests goes through
the parser without an exception, and a good sample reads the way those projects' own
tests say a helpdesk must read it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.inbound.mail import (
    MailKind,
    MailParseFailure,
    ParsedMail,
    classify,
    parse_mail,
)
from tests.inbound.mail.sources import CORPUS, corpus, corpus_files, cpython_files

needs_corpus = pytest.mark.skipif(
    not CORPUS.is_dir(), reason=f"the shared mail corpus is not at {CORPUS}"
)
_UNSAFE = re.compile("[\x00\ud800-\udfff]")


def _params(files: list[Path], what: str) -> list[object]:
    if not files:
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"{what} not found"))]
    return [pytest.param(path, id=f"{path.parent.name}/{path.name}") for path in files]


def _strings(mail: ParsedMail) -> list[str]:
    texts = [mail.subject, mail.text, mail.html or "", mail.message_id]
    texts += [mail.reply.new_text, mail.reply.quoted, mail.reply.signature]
    texts += [f"{a.name} {a.address}" for a in (*mail.from_addresses, *mail.to, *mail.cc)]
    texts += [a.filename or "" for a in mail.attachments]
    texts += [value for _, value in mail.headers]
    return texts


def _check_any(path: Path) -> None:
    result = parse_mail(path.read_bytes())
    assert isinstance(result, ParsedMail | MailParseFailure)
    if isinstance(result, MailParseFailure):
        # Only mail with no header at all may fail: the rest is read, however broken.
        assert result.reason == "not_a_message", (result.reason, result.detail)
        return
    for text in _strings(result):
        assert not _UNSAFE.search(text), f"NUL or lone surrogate in {text[:80]!r}"
    classify(result)


@pytest.mark.parametrize("path", _params(corpus_files(), "the shared mail corpus"))
def test_every_corpus_mail_parses(path: Path) -> None:
    _check_any(path)


@pytest.mark.parametrize("path", _params(cpython_files(), "CPython's test_email data"))
def test_every_cpython_test_mail_parses(path: Path) -> None:
    _check_any(path)


@needs_corpus
def test_rt_latin1_signature_reads_havard() -> None:
    mail = corpus("rt/new-ticket-from-iso-8859-1")
    assert mail.sender is not None
    assert (mail.sender.name, mail.sender.address) == ("Wilhelmsen Håvard", "hw@nordkapp.net")
    assert "Håvard" in mail.text


@needs_corpus
def test_rt_alternative_and_html_only_mail_show_the_umlaut_text() -> None:
    for name in ("rt/multipart-alternative-with-umlaut", "rt/text-html-with-umlaut"):
        mail = corpus(name)
        assert "causes Error" in mail.text
        assert "Mit freundlichen Grüßen" in mail.text
    html_only = corpus("rt/text-html-with-umlaut")
    assert html_only.html is not None
    assert "<" not in html_only.text


@needs_corpus
def test_rt_russian_raw_8bit_subject_without_content_type() -> None:
    assert corpus("rt/russian-subject-no-content-type").subject == "тест тест"


@needs_corpus
def test_rt_subjects_folded_nested_and_long() -> None:
    assert corpus("rt/subject-with-folding-ws").subject == "test"
    assert corpus("rt/nested-rfc-822").subject == "[Jonas Liljegren] Re: [Para] Nivåer?"
    assert corpus("rt/very-long-subject").subject.startswith("0123456789" * 20)
    assert corpus("rt/new-ticket-from-gb18030").subject == "测试"
    assert corpus("rt/8859-15-message-series/msg1").subject == "test äöüßÄÖÜß€"


@needs_corpus
def test_rt_lotus_notes_uuencoded_picture_is_an_attachment() -> None:
    mail = corpus("rt/notes-uuencoded")
    assert "from Lotus Notes" in mail.text
    assert "begin 644" not in mail.text
    (picture,) = mail.attachments
    assert picture.filename == "Naz_Head.jpg"
    assert picture.content_type == "image/jpeg"
    assert picture.content.startswith(b"\xff\xd8\xff")


@needs_corpus
def test_rt_forwarded_and_attached_mail() -> None:
    assert "FYI" in corpus("rt/crashes-file-based-parser").text
    mail = corpus("rt/email-file-attachment.eml")
    assert mail.subject == "This is a test"
    assert "This is a test with an email file attachment" in mail.text
    (attached,) = mail.attachments
    assert attached.filename == "test-email.eml"
    assert attached.content_type == "message/rfc822"
    assert b"Subject: This is a test" in attached.content
    assert mail.forwarded[0].text == "This is a test."


@needs_corpus
def test_rt_rfc2231_iso2022jp_filename_continuations() -> None:
    mail = corpus("rt/rfc2231-attachment-filename-continuations")
    assert [a.filename for a in mail.attachments] == ["新しいテキスト ドキュメント.txt"]
    assert mail.text == "Some data in a file"


@needs_corpus
def test_rt_delivery_status_report_is_a_bounce() -> None:
    mail = corpus("rt/multipart-report")
    assert "The original message was received" in mail.text
    verdict = classify(mail)
    assert verdict.kind is MailKind.BOUNCE
    assert verdict.bounce is not None
    (recipient,) = verdict.bounce.recipients
    assert (recipient.address, recipient.status) == ("jesmund@mailbox.other.example.com", "5.1.1")
    assert verdict.bounce.permanent
    assert verdict.bounce.original_message_id == (
        "200308221615.h7MGFGac020135@mx12.other.example.com"
    )


@needs_corpus
def test_freescout_japanese_subject_sender_and_attachment_name() -> None:
    title = (
        "☆第132号　「ガーデン&エクステリア」専門店のためのＱ&Ａサロン　【月刊エクステリア・ワーク】"
    )
    mail = corpus("freescout/message-1.eml")
    assert mail.subject == title
    assert mail.sender is not None
    assert mail.sender.name == "Análisis EC Madrid"
    assert [a.filename for a in mail.attachments] == [title]
    iso2022 = corpus("freescout/message-5-iso-2022-jp.eml")
    assert iso2022.subject == "ご注文商品を本日お届けします"
    assert iso2022.sender is not None
    assert iso2022.sender.name == "アマゾン"


@needs_corpus
def test_freescout_latin1_encoded_word_filenames() -> None:
    mail = corpus("freescout/message-1b.eml")
    subject = (
        "386 - 400021804 - 19., Heiligenstädter Straße 80 - 0819306 - Anfrage Vergabevorschlag"
    )
    assert mail.subject == subject
    assert [a.filename for a in mail.attachments] == ["2021_Mängelliste_0819306.xlsx"]
    symbols = corpus("freescout/message-1symbols.eml")
    assert [a.filename for a in symbols.attachments] == ["Checkliste 10.,DAVIDGASSE 76-80;2;2.pdf"]


@needs_corpus
def test_freescout_bad_boundary_and_null_bytes() -> None:
    mail = corpus("freescout/message-2.eml")
    assert "See attached document" in mail.text
    (pdf,) = mail.attachments
    assert pdf.filename == "file.pdf"
    assert pdf.content.startswith(b"%PDF")
    nul = corpus("freescout/message-4-null-bytes.eml")
    assert nul.subject == "активизация виндойс"
    assert "Уважаемые системные администраторы" in nul.text
    assert nul.html is not None
    assert "\x00" not in nul.html


@needs_corpus
def test_django_helpdesk_czech_mails() -> None:
    printable = corpus("django-helpdesk/quoted_printable.eml")
    assert printable.subject == "Český test"
    assert printable.text == "Tohle je test českých písmen odeslaných z gmailu."
    assert printable.html is not None
    assert '<div dir="ltr">Tohle je test českých písmen odeslaných z gmailu.</div>' in (
        printable.html
    )
    special = corpus("django-helpdesk/all-special-chars.eml")
    assert (special.subject, special.text) == ("Testovácí email", "íářčšáíéřášč")
    broken = corpus("django-helpdesk/utf-nondecodable.eml")
    assert broken.subject == "Fwd: Cyklozaměstnavatel - změna vyhodnocení"
    assert "prosazuje lepší" in broken.text


@needs_corpus
def test_django_helpdesk_forward_below_the_body_is_history() -> None:
    mail = corpus("django-helpdesk/forwarded-message.eml")
    assert mail.subject == "Test with original message from GitHub"
    assert "This is email body" in mail.text
    assert "Hello there!" in mail.text
    assert mail.reply.new_text == "This is email body"
    assert "Hello there!" in mail.reply.quoted


@needs_corpus
def test_django_helpdesk_blank_body_and_pgp() -> None:
    blank = corpus("django-helpdesk/blank-body-with-attachment.eml")
    assert blank.subject.startswith("Attachment without body - and a looooo")
    assert blank.text == ""
    assert len(blank.attachments) == 1
    signed = corpus("django-helpdesk/pgp.eml")
    assert signed.text.startswith("hi, thanks for looking into this :)")
    assert [a.content_type for a in signed.attachments] == ["application/pgp-signature"]


def test_cpython_samples_read_like_mail() -> None:
    files = {path.name: path for path in cpython_files()}
    if not files:
        pytest.skip("CPython's test_email data not found")
    first = parse_mail(files["msg_01.txt"].read_bytes())
    assert isinstance(first, ParsedMail)
    assert first.sender is not None
    assert (first.sender.name, first.sender.address) == ("John X. Doe", "bbb@ddd.com")
    assert first.subject == "This is a test message"
    assert "Do you like this message?" in first.text
    bounce = parse_mail(files["msg_16.txt"].read_bytes())
    assert isinstance(bounce, ParsedMail)
    assert classify(bounce).kind is MailKind.BOUNCE
    forwarded = parse_mail(files["msg_46.txt"].read_bytes())
    assert isinstance(forwarded, ParsedMail)
    assert "Testing email forwarding with Groupwise" in forwarded.text
    no_boundary = parse_mail(files["msg_17.txt"].read_bytes())
    assert isinstance(no_boundary, ParsedMail)
    assert "This is the dingus fish." in no_boundary.text
