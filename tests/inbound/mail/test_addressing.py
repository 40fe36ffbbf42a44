"""What a mail says about its ticket: subject tags, plus addresses, our Message-IDs."""

from __future__ import annotations

from app.inbound.mail import (
    MailAddress,
    base_address,
    clean_subject,
    plus_address,
    subject_tag,
    ticket_id_from_address,
    ticket_id_from_message_id,
    ticket_id_from_recipients,
    ticket_id_from_subject,
)

DESK = ["support@desk.example.com", "Billing <billing@desk.example.com>"]


def test_subject_tags() -> None:
    assert ticket_id_from_subject("Re: [#123] Printer") == 123
    assert ticket_id_from_subject("AW: [ # 77 ] Drucker") == 77
    assert ticket_id_from_subject("Fwd: [#1] old [#2] new") == 2
    assert ticket_id_from_subject("Invoice #123") is None
    assert ticket_id_from_subject("[#0] zero") is None
    assert ticket_id_from_subject("[#99999999999999999999] too big") is None
    assert subject_tag(42) == "[#42]"


def test_plus_addresses_only_on_the_desk_mailboxes() -> None:
    assert plus_address("support@desk.example.com", 42) == "support+t42@desk.example.com"
    assert ticket_id_from_address("Support+T42@Desk.Example.com", DESK) == 42
    assert ticket_id_from_address("billing+t7@desk.example.com", DESK) == 7
    assert ticket_id_from_address("ann+t42@customer.example", DESK) is None
    assert ticket_id_from_address("support+news@desk.example.com", DESK) is None
    assert ticket_id_from_address("support@desk.example.com", DESK) is None
    recipients = [MailAddress("ann@customer.example"), MailAddress("support+t9@desk.example.com")]
    assert ticket_id_from_recipients(recipients, DESK) == 9
    assert base_address("Support Desk <Support+t9@Desk.example.com>") == "support@desk.example.com"


def test_message_ids_the_desk_wrote() -> None:
    domain = "desk.example.com"
    assert ticket_id_from_message_id("<ticket-12@desk.example.com>", domain) == 12
    assert ticket_id_from_message_id("0af3.ticket-12@Desk.Example.com", domain) == 12
    assert ticket_id_from_message_id("0af3.notice@desk.example.com", domain) is None
    assert ticket_id_from_message_id("ticket-12@elsewhere.example", domain) is None


def test_clean_subject() -> None:
    assert clean_subject("Re: AW: Fwd: [#12] Printer jam") == "Printer jam"
    assert clean_subject("R: I: Stampante") == "Stampante"
    assert clean_subject("RE[2]: SV: Skrivare") == "Skrivare"
    assert clean_subject("Réponse: fine") == "Réponse: fine"
