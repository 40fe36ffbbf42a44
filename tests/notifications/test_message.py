"""The MIME message itself: words from users never become headers, non-ASCII is encoded."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from types import SimpleNamespace
from typing import Any, cast

from app.notifications.channels.base import Outgoing
from app.notifications.channels.email import build_message
from app.notifications.render import Block, Rendered


def _outgoing(subject: str, name: str) -> Outgoing:
    rendered = Rendered(
        subject=subject, greeting=f"Ciao {name},", blocks=[Block("Ecco.", "già fatto")]
    )
    delivery: Any = SimpleNamespace(idempotency_key="<k1.ticket-7@desk.test>", ticket_id=7)
    recipient: Any = SimpleNamespace(name=name, email="nico@example.com")
    return Outgoing(delivery, recipient, rendered, None, "<ticket-7@desk.test>")


def _parsed(outgoing: Outgoing, sender: str) -> EmailMessage:
    raw = bytes(build_message(outgoing, sender))
    return cast(EmailMessage, email.message_from_bytes(raw, policy=email.policy.default))


def test_a_line_break_in_a_subject_or_a_name_never_starts_a_header() -> None:
    message = _parsed(
        _outgoing("Printer\r\nBcc: victim@example.com", "Eve\nX-Injected: yes"), "desk@desk.test"
    )
    assert message["Bcc"] is None
    assert message["X-Injected"] is None
    assert message["Subject"] == "Printer Bcc: victim@example.com"
    assert message["To"].addresses[0].addr_spec == "nico@example.com"


def test_a_long_non_ascii_subject_reads_back_exactly() -> None:
    subject = (
        "Grazie: abbiamo ricevuto il tuo suggerimento (rif. F-1), ti faremo sapere cosa diventerà…"
    )
    message = _parsed(_outgoing(subject, "Ada"), "desk@desk.test")
    assert message["Subject"] == subject


def test_non_ascii_names_and_subjects_survive_the_trip() -> None:
    message = _parsed(
        _outgoing("[#7] Stampante rotta — è urgente", 'Niccolò Rossi, "Jr"'),
        "Assistenza Clienti Società <desk@desk.test>",
    )
    assert message["Subject"] == "[#7] Stampante rotta — è urgente"
    [to] = message["To"].addresses
    assert (to.display_name, to.addr_spec) == ('Niccolò Rossi, "Jr"', "nico@example.com")
    assert message["From"].addresses[0].display_name == "Assistenza Clienti Società"
    assert (message["In-Reply-To"], message["References"]) == ("<ticket-7@desk.test>",) * 2
    assert message["Message-ID"] == "<k1.ticket-7@desk.test>"
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None
    assert html is not None
    assert "Ciao Niccolò Rossi" in str(plain.get_content())
    assert "già fatto" in str(html.get_content())
