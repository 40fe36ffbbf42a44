"""Replies as Gmail, Outlook, Apple Mail and Thunderbird send them: the desk sees what
the customer wrote now, with the quoted history and the signature kept apart."""

from __future__ import annotations

from datetime import UTC, datetime

from app.inbound.mail import MessageIdSource, split_reply, ticket_id_from_subject
from tests.inbound.mail.sources import fixture, parsed


def test_gmail_reply_in_italian() -> None:
    mail = fixture("gmail_reply.eml")
    assert mail.sender is not None
    assert (mail.sender.name, mail.sender.address) == ("Mario Rossi", "mario.rossi@gmail.com")
    assert mail.subject == "Re: [#1234] La stampante del secondo piano non stampa"
    assert mail.message_id == "CAF5xk3NqQ0w8gT=Yb2p+HdQ7N7n5b0v8Wm6o1Q@mail.gmail.com"
    assert mail.message_id_source is MessageIdSource.HEADER
    assert mail.in_reply_to == ("6a1f0c2e9b7d4e55.ticket-1234@desk.example.com",)
    assert mail.references == (
        "6a1f0c2e9b7d4e55.ticket-1234@desk.example.com",
        "ticket-1234@desk.example.com",
    )
    assert mail.date == datetime(2026, 1, 5, 10, 13, 52, tzinfo=UTC)
    assert [a.address for a in mail.envelope_recipients] == ["support@desk.example.com"]
    assert mail.reply.new_text == (
        "Buongiorno,\n\nho riavviato la stampante come suggerito ma continua a dare "
        "l'errore E-04.\nVi allego la foto del display.\n\nGrazie,\nMario"
    )
    assert mail.reply.quoted.startswith("Il giorno lun 5 gen 2026 alle ore 10:02")
    assert "può provare a spegnere" in mail.reply.quoted
    assert "può provare a spegnere" in mail.text  # the full text keeps the history
    assert mail.html is not None
    assert 'class="gmail_quote' in mail.html
    assert ticket_id_from_subject(mail.subject) == 1234


def test_outlook_reply_in_german_with_cc_and_legacy_charset() -> None:
    mail = fixture("outlook_reply.eml")
    assert mail.sender is not None
    assert mail.sender.name == "Schmidt, Jana"
    assert [str(a) for a in mail.cc] == ["Peter Braun <peter.braun@contoso.de>"]
    assert mail.reply.new_text.startswith("Hallo Anna,\n\nleider kommt immer noch die Meldung")
    assert "„Zertifikat ungültig“" in mail.reply.new_text  # windows-1252 quotes in a Latin-1 label
    assert mail.reply.new_text.endswith("Tel. +49 30 1234567")
    assert "Von: Support Desk" in mail.reply.quoted
    assert "bitte installieren Sie den VPN-Client neu" in mail.reply.quoted
    assert "VPN-Client neu" not in mail.reply.new_text


def test_outlook_html_is_read_without_double_spacing_and_split_at_its_header_block() -> None:
    mail = fixture("outlook_reply.eml")
    assert mail.html is not None
    html_only = mail.html.encode("windows-1252")
    raw = (
        b"From: Jana <jana.schmidt@contoso.de>\r\nSubject: AW: test\r\n"
        b"Content-Type: text/html; charset=windows-1252\r\n\r\n" + html_only
    )
    reply = parsed(raw).reply
    assert reply.new_text.startswith("Hallo Anna,\n\nleider kommt")
    assert "Viele Grüße\nJana Schmidt" in reply.new_text
    assert "Von: Support Desk" in reply.quoted
    assert "VPN-Client neu" not in reply.new_text


def test_apple_mail_reply_in_french() -> None:
    mail = fixture("apple_mail_reply.eml")
    assert mail.subject == "Re: [#1422] Facture de décembre incorrecte"
    assert mail.reply.new_text == (
        "Bonjour,\n\nMerci, mais le montant est toujours faux : 120 € au lieu de 102 €.\n\nClaire"
    )
    assert "Nous avons corrigé la facture." in mail.reply.quoted


def test_apple_mail_html_blockquote_is_history() -> None:
    mail = fixture("apple_mail_reply.eml")
    assert mail.html is not None
    raw = (
        "From: claire.martin@icloud.com\nSubject: Re: x\n"
        "Content-Type: text/html; charset=utf-8\n\n" + mail.html
    ).encode()
    reply = parsed(raw).reply
    assert reply.new_text.endswith("au lieu de 102 €.\n\nClaire")
    assert "a écrit" in reply.quoted
    assert "corrigé" in reply.quoted


def test_iphone_reply_with_inline_photo_and_mobile_signature() -> None:
    mail = fixture("iphone_reply_with_photo.eml")
    assert mail.reply.new_text == "Here is the photo of the screen."
    assert mail.reply.signature == "Sent from my iPhone"
    assert "could you send us a photo" in mail.reply.quoted
    (photo,) = mail.attachments
    assert (photo.filename, photo.content_type, photo.disposition) == (
        "IMG_4821.jpeg",
        "image/jpeg",
        "inline",
    )
    assert photo.content.startswith(b"\xff\xd8\xff")
    assert "\ufeff" not in mail.text


def test_thunderbird_flowed_text_with_signature_in_german() -> None:
    mail = fixture("thunderbird_flowed_reply.eml")
    assert mail.sender is not None
    assert mail.sender.name == "Jürgen Müller"
    # format=flowed: the soft line break is undone.
    assert "bevor ich ihn öffnen konnte. Können Sie" in mail.reply.new_text
    assert mail.reply.new_text.endswith("Danke und Grüße\nJürgen")
    assert mail.reply.signature == "-- \nJürgen Müller\nMusterstraße 1, 12345 Berlin"
    assert mail.reply.quoted.startswith("Am 08.01.26 um 16:40 schrieb Support Desk:")


def test_outlook_plain_text_reply_in_french() -> None:
    mail = fixture("outlook_plain_reply_fr.eml")
    assert mail.subject == "RE: [#1611] Accès au portail"
    assert mail.reply.new_text == (
        "Bonjour,\n\nC’est bon, j’ai pu me connecter. Vous pouvez fermer la demande.\n\nLuc"
    )
    assert mail.reply.quoted.startswith("De : Support Desk")


def test_forward_keeps_the_forwarded_text_as_new_and_decodes_the_attachment_name() -> None:
    mail = fixture("forwarded_with_attachment.eml")
    assert "Dear customer, please find attached invoice" in mail.reply.new_text
    assert mail.reply.quoted == ""
    (pdf,) = mail.attachments
    assert pdf.filename == "Fattura n° 2026-001.pdf"
    assert pdf.content.startswith(b"%PDF-1.4")


def test_html_only_mail_reads_as_text() -> None:
    mail = fixture("html_only_newsletter.eml")
    assert mail.subject == "🎉 New arrivals for you"
    assert mail.text == (
        "New arrivals\n\nHello Ada,\n\n"
        "See our latest collection <https://store.example/new> & save 20%.\n\n"
        "  * Linen shirts\n  * Wool socks"
    )
    assert "Preview text" not in mail.text
    assert "track()" not in mail.text


def test_inline_answers_between_quotes_are_all_new_text() -> None:
    text = (
        "On Mon, 5 Jan 2026 at 10:00, Support <support@desk.example.com> wrote:\n"
        "> Which printer is it?\nThe one on the second floor.\n> And the model?\nHP 4000\n"
    )
    parts = split_reply(text)
    assert parts.new_text == text.strip()
    assert parts.quoted == ""


def test_a_colleague_who_wrote_is_not_a_quote_header() -> None:
    text = "Hello,\nmy colleague wrote:\nthe printer on floor 2 is broken.\n"
    assert split_reply(text).new_text == text.strip()


def test_trailing_quote_without_attribution_is_history() -> None:
    parts = split_reply("Yes, please close it.\n\n> Can we close the ticket?\n> Thanks\n")
    assert parts.new_text == "Yes, please close it."
    assert parts.quoted == "> Can we close the ticket?\n> Thanks"


def test_original_message_separators_in_several_languages() -> None:
    for separator in (
        "-----Original Message-----",
        "-----Ursprüngliche Nachricht-----",
        "-----Messaggio originale-----",
        "-----Message d'origine-----",
        "-----Mensaje original-----",
    ):
        parts = split_reply(f"Thanks!\n\n{separator}\nFrom: x\nSent: y\n\nold text\n")
        assert parts.new_text == "Thanks!", separator
        assert parts.quoted.startswith(separator)


def test_attributions_in_several_languages() -> None:
    for attribution in (
        "On Tue, Jan 6, 2026 at 9:00 AM Support <support@desk.example.com> wrote:",
        "Il giorno mar 6 gen 2026 alle ore 09:00 Support <support@desk.example.com> ha scritto:",
        "Am Di., 6. Jan. 2026 um 09:00 Uhr schrieb Support <support@desk.example.com>:",
        "Le mar. 6 janv. 2026 à 09:00, Support <support@desk.example.com> a écrit :",
        "El mar, 6 ene 2026 a las 9:00, Support (<support@desk.example.com>) escribió:",
        "Em ter., 6 de jan. de 2026 às 09:00, Support <support@desk.example.com> escreveu:",
        "Op di 6 jan 2026 om 09:00 schreef Support <support@desk.example.com>:",
    ):
        parts = split_reply(f"Done, thanks.\n\n{attribution}\n\n> Please confirm.\n")
        assert parts.new_text == "Done, thanks.", attribution
        assert parts.quoted.startswith(attribution[:20])


def test_mobile_signatures_in_several_languages() -> None:
    for line in (
        "Sent from my iPhone",
        "Inviato da iPhone",
        "Von meinem iPhone gesendet",
        "Envoyé de mon iPhone",
        "Get Outlook for Android",
    ):
        parts = split_reply(f"Ok.\n\n{line}\n")
        assert (parts.new_text, parts.signature) == ("Ok.", line)
