"""Counters for intake, for the inbound channels to increment.

`INBOUND_MAIL.labels(outcome=...).inc()` once per message an intake has finished with,
after its commit; the outcome is the one the intake answers (`created`, `appended`,
`followup`, `ignored`, `quarantined`).
"""

from __future__ import annotations

from prometheus_client import Counter

INBOUND_MAIL = Counter(
    "helpdesk_inbound_mail",
    "Inbound email messages handled, by outcome.",
    ["outcome"],
)


def count_intake(outcome: str, *, repeated: bool) -> None:
    """After the commit: one more mail handled (a repeat of a known one changes nothing)."""
    if not repeated:
        INBOUND_MAIL.labels(outcome=outcome).inc()
