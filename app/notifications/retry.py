"""When to try a failed delivery again."""

from __future__ import annotations

import random

from app.models import DeliveryChannel

# Webhooks: about three days in all, as Standard Webhooks receivers expect.
WEBHOOK_SCHEDULE_SECONDS = (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
MAX_DELAY_SECONDS = 86_400.0


def next_delay(channel: DeliveryChannel, attempts_made: int, retry_after: float | None) -> float:
    """Seconds until the next attempt, after `attempts_made` failed ones (>= 1)."""
    if channel is DeliveryChannel.WEBHOOK:
        index = min(attempts_made - 1, len(WEBHOOK_SCHEDULE_SECONDS) - 1)
        base = float(WEBHOOK_SCHEDULE_SECONDS[index])
    else:
        base = min(3600.0, 30.0 * 2 ** (attempts_made - 1))
    # Jitter spreads retries so a recovering server is not hit by all of them at once.
    delay = base * random.uniform(0.8, 1.2)  # noqa: S311 - not for security
    if retry_after is not None:
        delay = max(delay, retry_after)
    return min(delay, MAX_DELAY_SECONDS)
