"""Email intake's foundation: raw mail to typed values, no database."""

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
from app.inbound.mail.parser import parse_mail

__all__ = [
    "FailureReason",
    "ForwardedMail",
    "MailAddress",
    "MailAttachment",
    "MailLimits",
    "MailParseFailure",
    "MessageIdSource",
    "ParsedMail",
    "ReplyParts",
    "parse_mail",
]
