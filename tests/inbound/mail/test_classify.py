"""Auto-replies, automated mail and bounces never look like a person writing; the
desk's own mail coming back is recognised as a loop."""

from __future__ import annotations

from app.inbound.mail import MailKind, classify, loop_reason
from tests.inbound.mail.sources import fixture, parsed


def _mail(headers: str, body: str = "Hello") -> bytes:
    return f"{headers.strip()}\nContent-Type: text/plain; charset=utf-8\n\n{body}\n".encode()


def test_exchange_out_of_office_in_italian_is_an_auto_reply() -> None:
    verdict = classify(fixture("out_of_office_exchange.eml"))
    assert verdict.kind is MailKind.AUTO_REPLY
    assert not verdict.acknowledge
    assert "out-of-office subject" in verdict.reasons


def test_gmail_vacation_responder_is_an_auto_reply() -> None:
    verdict = classify(fixture("vacation_gmail.eml"))
    assert verdict.kind is MailKind.AUTO_REPLY
    assert verdict.reasons[0] == "Auto-Submitted: auto-replied"


def test_read_receipt_is_an_auto_reply() -> None:
    assert classify(fixture("read_receipt.eml")).kind is MailKind.AUTO_REPLY


def test_postfix_delivery_status_report() -> None:
    verdict = classify(fixture("bounce_postfix_dsn.eml"))
    assert verdict.kind is MailKind.BOUNCE
    assert verdict.bounce is not None
    assert verdict.bounce.standard
    assert verdict.bounce.permanent
    assert verdict.bounce.original_message_id == "8e9f0a1b2c3d.ticket-1790@desk.example.com"
    assert verdict.bounce.reporting_mta == "mx.desk.example.com"
    (recipient,) = verdict.bounce.recipients
    assert recipient.address == "nobody.here@customer.example"
    assert (recipient.action, recipient.status) == ("failed", "5.1.1")
    assert recipient.diagnostic is not None
    assert "User unknown" in recipient.diagnostic


def test_exim_prose_bounce() -> None:
    verdict = classify(fixture("bounce_exim_prose.eml"))
    assert verdict.kind is MailKind.BOUNCE
    assert verdict.bounce is not None
    assert not verdict.bounce.standard
    assert [r.address for r in verdict.bounce.recipients] == ["old.address@customer.example"]
    assert verdict.bounce.recipients[0].status == "5.1.1"
    assert verdict.bounce.original_message_id == "9a0b1c2d3e4f.ticket-1833@desk.example.com"


def test_delayed_delivery_is_not_permanent() -> None:
    raw = _mail(
        "From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example>\n"
        "Subject: Delivery Status Notification (Delay)\nTo: support@desk.example.com",
        "Delivery to <slow@customer.example>: still trying.\n<slow@customer.example>: timeout",
    )
    bounce = classify(parsed(raw)).bounce
    assert bounce is not None
    assert not bounce.permanent
    assert [r.action for r in bounce.recipients] == ["delayed"]


def test_newsletter_and_list_mail_are_automated() -> None:
    assert classify(fixture("html_only_newsletter.eml")).kind is MailKind.AUTOMATED
    lists = parsed(_mail("From: a@lists.example\nSubject: Digest\nList-Id: <dev.lists.example>"))
    assert classify(lists).kind is MailKind.AUTOMATED


def test_signals_one_by_one() -> None:
    automated = [
        "Auto-Submitted: auto-generated",
        "Precedence: bulk",
        "Precedence: junk",
        "Return-Path: <>",
        "X-Auto-Response-Suppress: All",
    ]
    for header in automated:
        raw = _mail(f"From: Bot <bot@service.example>\nSubject: Report\n{header}")
        assert classify(parsed(raw)).kind is MailKind.AUTOMATED, header
    auto_replies = [
        "Auto-Submitted: auto-replied",
        "X-Autoreply: yes",
        "X-Autorespond: vacation",
        "Precedence: auto_reply",
    ]
    for header in auto_replies:
        raw = _mail(f"From: Ann <ann@customer.example>\nSubject: Re: ticket\n{header}")
        assert classify(parsed(raw)).kind is MailKind.AUTO_REPLY, header
    noreply = parsed(_mail("From: no-reply@shop.example\nSubject: Your order"))
    assert classify(noreply).kind is MailKind.AUTOMATED


def test_out_of_office_subjects_in_several_languages() -> None:
    for subject in (
        "Out of Office: [#12] Printer",
        "Automatic reply: [#12] Printer",
        "Abwesenheitsnotiz: [#12] Drucker",
        "Automatische Antwort: [#12] Drucker",
        "Risposta automatica: [#12] Stampante",
        "Réponse automatique : [#12] Imprimante",
        "Respuesta automática: [#12] Impresora",
        "Autosvar: [#12] Skrivare",
        "AUTO: Anna Rossi is out of the office (returning 20/01/2026)",
    ):
        raw = _mail(f"From: Ann <ann@customer.example>\nSubject: {subject}")
        assert classify(parsed(raw)).kind is MailKind.AUTO_REPLY, subject


def test_a_person_writing_about_out_of_office_reaches_a_person() -> None:
    raw = _mail("From: Ann <ann@customer.example>\nSubject: Out of office replies not working")
    verdict = classify(parsed(raw))
    assert verdict.kind is MailKind.PERSONAL
    assert verdict.acknowledge


def test_auto_submitted_no_is_a_person() -> None:
    raw = _mail("From: Ann <ann@customer.example>\nSubject: Hi\nAuto-Submitted: no")
    assert classify(parsed(raw)).kind is MailKind.PERSONAL


def test_loop_guard() -> None:
    desk = ["Support Desk <support@desk.example.com>", "billing@desk.example.com"]
    own = parsed(_mail("From: support+t42@Desk.Example.com\nSubject: [#42] Update"))
    assert loop_reason(own, desk)
    stranger = parsed(_mail("From: ann@customer.example\nSubject: Help"))
    assert loop_reason(stranger, ["support@desk.example.com"]) is None
    looped = parsed(_mail("From: list@lists.example\nX-Loop: support@desk.example.com"))
    assert loop_reason(looped, ["support@desk.example.com"]) is not None
    echoed = parsed(
        _mail("From: relay@other.example\nMessage-ID: <0a1b2c.ticket-7@desk.example.com>")
    )
    assert loop_reason(echoed, [], mail_domain="desk.example.com") is not None
    customer_on_same_domain = parsed(
        _mail("From: boss@desk.example.com\nMessage-ID: <CAF123@desk.example.com>")
    )
    assert loop_reason(customer_on_same_domain, [], mail_domain="desk.example.com") is None
