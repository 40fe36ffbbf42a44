"""IMAP mailboxes the desk polls: their settings (with sealed secrets), the API, one
poller per mailbox across every process, IDLE where the server offers it."""
