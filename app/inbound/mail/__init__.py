"""Email intake's foundation: raw mail to typed values, no database, no I/O.

The pipeline (parse -> identify -> thread -> record) is built on this API:

- `parse_mail(raw, limits)` -> `ParsedMail`, or `MailParseFailure` (quarantine it);
  never raises. `limits_from_settings(settings)` gives the configured `MailLimits`.
- `classify(mail)` -> `MailClassification`: personal, auto-reply, automated or bounce
  (with its `BounceReport`); `acknowledge` says whether an automatic answer may go back.
- `loop_reason(mail, desk_addresses, mail_domain)`: the desk's own mail coming back.
- Threading hints: `ticket_id_from_subject` (`[#123]`), `ticket_id_from_recipients`
  (`support+t123@...`), `ticket_id_from_message_id` (the desk's own Message-IDs),
  `clean_subject`; and `subject_tag`, `plus_address` for writing them.
- `html_to_text` and `split_reply` for text from other channels.
"""

from app.inbound.mail.addressing import (
    base_address,
    clean_subject,
    plus_address,
    subject_tag,
    ticket_id_from_address,
    ticket_id_from_message_id,
    ticket_id_from_recipients,
    ticket_id_from_subject,
)
from app.inbound.mail.bounces import BouncedRecipient, BounceReport
from app.inbound.mail.classify import MailClassification, MailKind, classify, loop_reason
from app.inbound.mail.html import html_to_text
from app.inbound.mail.model import (
    FailureReason,
    ForwardedMail,
    MailAddress,
    MailAttachment,
    MailLimits,
    MailParseFailure,
    MessageIdSource,
    ParsedMail,
    ReplyParts,
)
from app.inbound.mail.parser import limits_from_settings, parse_mail
from app.inbound.mail.reply import split_reply

__all__ = [
    "BounceReport",
    "BouncedRecipient",
    "FailureReason",
    "ForwardedMail",
    "MailAddress",
    "MailAttachment",
    "MailClassification",
    "MailKind",
    "MailLimits",
    "MailParseFailure",
    "MessageIdSource",
    "ParsedMail",
    "ReplyParts",
    "base_address",
    "classify",
    "clean_subject",
    "html_to_text",
    "limits_from_settings",
    "loop_reason",
    "parse_mail",
    "plus_address",
    "split_reply",
    "subject_tag",
    "ticket_id_from_address",
    "ticket_id_from_message_id",
    "ticket_id_from_recipients",
    "ticket_id_from_subject",
]
