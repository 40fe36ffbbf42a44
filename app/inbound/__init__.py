"""Intake: every channel in, one pipeline.

A raw message (an email over HTTP, SMTP/LMTP or IMAP; later SMS, chat, social) goes
through the same steps, in one transaction with its events and outbox rows:

- `pipeline.take_in`: recognise a repeat (the channel's own id: an email's Message-ID),
  keep the raw bytes, then record it through its channel's adapter, or quarantine it
  with its reason. Never dropped, never blocking what follows.
- `email.EmailAdapter`: the email channel: parse (app/inbound/mail), loops, bounces,
  automatic answers, then an `InboundMessage` for the core.
- `intake.deliver`: the channel-agnostic core: identify the sender (`identify`),
  thread onto a ticket they belong to (`threads`), record it (`recording`), through
  app/tickets and app/conversations like any other change.
"""
