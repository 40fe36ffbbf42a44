"""When to try a failed delivery again."""

from __future__ import annotations

import random

from app.models import DeliveryChannel
from app.notifications.outbox import EMAIL_ATTEMPTS, WEBHOOK_ATTEMPTS

# Webhooks: about three days in all, as Standard Webhooks receivers expect.
WEBHOOK_SCHEDULE_SECONDS = (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
MAX_DELAY_SECONDS = 86_400.0


def attempts_per_round(channel: DeliveryChannel) -> int:
    """The budget of a round: the first one, and each manual retry or redelivery."""
    return WEBHOOK_ATTEMPTS if channel is DeliveryChannel.WEBHOOK else EMAIL_ATTEMPTS


def attempt_in_round(channel: DeliveryChannel, attempts: int, max_attempts: int) -> int:
    """Which attempt of its current round `attempts` is (1 for the first).

    A manual retry or redelivery starts a fresh round: `max_attempts = attempts +
    attempts_per_round`, so `max_attempts - attempts_per_round` attempts came before the
    round began (none for a row never retried, whose budget may be smaller). The backoff
    starts again from the shortest delay in each round: a delivery an admin just sent
    again must not wait hours after its first new failure."""
    before_round = max(0, max_attempts - attempts_per_round(channel))
    return max(1, attempts - before_round)


def next_delay(channel: DeliveryChannel, attempt: int, retry_after: float | None) -> float:
    """Seconds until the next attempt, after the `attempt`-th of this round failed (>= 1)."""
    if channel is DeliveryChannel.WEBHOOK:
        index = min(attempt - 1, len(WEBHOOK_SCHEDULE_SECONDS) - 1)
        base = float(WEBHOOK_SCHEDULE_SECONDS[index])
    else:
        base = min(3600.0, 30.0 * 2 ** (attempt - 1))
    # Jitter spreads retries so a recovering server is not hit by all of them at once.
    delay = base * random.uniform(0.8, 1.2)  # noqa: S311 - not for security
    if retry_after is not None:
        delay = max(delay, retry_after)
    return min(delay, MAX_DELAY_SECONDS)
