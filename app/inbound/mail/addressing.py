"""What a mail says about the ticket it belongs to: the `[#123]` subject tag, a per-ticket
reply address (`support+t123@desk.example`), the desk's own Message-IDs, and the subject
without its "Re:"/"AW:"/"R:" prefixes.

These only read the mail; whether the sender may write to that ticket is the
threading step's decision, never this module's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from email.utils import parseaddr

from app.inbound.mail.model import MailAddress

MAX_TICKET_ID = 2**63 - 1

_SUBJECT_TAG = re.compile(r"\[\s*#\s*(\d{1,19})\s*\]")
_PLUS_TAG = re.compile(r"^t(\d{1,19})$", re.IGNORECASE)
# Reply and forward prefixes in the languages mail clients localise them to:
# Re, Fwd/Fw, AW/WG (de), R/I (it), TR/RE (fr), RV (es), SV/VS (nordic), Antw/Doorst (nl),
# Odp/PD (pl), Ynt (tr), Vá (hu), Отв/Пересл (ru), 回复/转发 (zh), 答复 (zh).
_PREFIX = re.compile(
    r"^\s*(?:re|fwd?|fw|aw|wg|r|i|tr|rv|sv|vs|antw|doorst|odp|pd|ynt|vá|отв|пересл|"
    r"回复|回覆|转发|答复)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*",
    re.IGNORECASE,
)


def ticket_id_from_subject(subject: str) -> int | None:
    """The ticket id of the last `[#123]` tag in the subject (the desk adds its tag at
    the end; a forwarded older tag comes first), or None."""
    found = [int(value) for value in _SUBJECT_TAG.findall(subject)]
    found = [value for value in found if 0 < value <= MAX_TICKET_ID]
    return found[-1] if found else None


def subject_tag(ticket_id: int) -> str:
    """The tag the desk writes into the subjects of a ticket's mail."""
    return f"[#{ticket_id}]"


def plus_address(mailbox: str, ticket_id: int) -> str:
    """The per-ticket reply address: `support@desk.example` -> `support+t42@desk.example`."""
    local, _, domain = mailbox.rpartition("@")
    local = local.split("+", 1)[0]
    return f"{local}+t{ticket_id}@{domain}"


def base_address(address: str) -> str:
    """An address without its +tag, lower case: `Support+t42@Desk.example` ->
    `support@desk.example` (a display name around it, as in `Desk <a@b>`, is dropped)."""
    if "<" in address:
        address = parseaddr(address)[1] or address
    local, at, domain = address.strip().lower().rpartition("@")
    if not at:
        return address.strip().lower()
    return f"{local.split('+', 1)[0]}@{domain}"


def ticket_id_from_address(address: str, desk_addresses: Iterable[str]) -> int | None:
    """The ticket id in a plus address of one of the desk's own mailboxes
    (`support+t42@desk.example` -> 42), or None. Plus tags on other domains are the
    customer's own sub-addressing and mean nothing here."""
    local, at, domain = address.strip().lower().rpartition("@")
    if not at or "+" not in local:
        return None
    mailbox, _, tag = local.partition("+")
    if f"{mailbox}@{domain}" not in {base_address(a) for a in desk_addresses}:
        return None
    match = _PLUS_TAG.match(tag)
    if match is None:
        return None
    value = int(match.group(1))
    return value if 0 < value <= MAX_TICKET_ID else None


def ticket_id_from_recipients(
    recipients: Iterable[MailAddress], desk_addresses: Iterable[str]
) -> int | None:
    """The first ticket id found in the plus addresses of `recipients`."""
    desk = list(desk_addresses)
    for recipient in recipients:
        found = ticket_id_from_address(recipient.address, desk)
        if found is not None:
            return found
    return None


def ticket_id_from_message_id(message_id: str, mail_domain: str) -> int | None:
    """The ticket id in a Message-ID the desk itself wrote (`<ticket-42@domain>` for a
    ticket's thread root, `<hex.ticket-42@domain>` for each mail), or None."""
    local, at, domain = message_id.strip().strip("<>").rpartition("@")
    if not at or domain.lower() != mail_domain.lower():
        return None
    match = re.search(r"(?:^|\.)ticket-(\d{1,19})$", local)
    if match is None:
        return None
    value = int(match.group(1))
    return value if 0 < value <= MAX_TICKET_ID else None


def clean_subject(subject: str) -> str:
    """The subject without reply/forward prefixes (any number, any language) and the
    desk's `[#123]` tags, for comparing subjects; "" when nothing else is left."""
    text = _SUBJECT_TAG.sub("", subject)
    while True:
        stripped = _PREFIX.sub("", text, count=1)
        if stripped == text:
            break
        text = stripped
    return " ".join(text.split())
