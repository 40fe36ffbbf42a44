"""Background chores that run every so often for as long as the process lives."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)


async def every(interval_seconds: float, chore: Callable[[], Awaitable[object]], what: str) -> None:
    """Until cancelled: run the chore, then wait. A failed run is logged and the chore
    runs again on the next tick; it never ends the loop."""
    while True:
        try:
            await chore()
        except Exception:
            logger.exception("%s failed; trying again in %.0f s", what, interval_seconds)
        await asyncio.sleep(interval_seconds)
