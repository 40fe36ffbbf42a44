"""`helpdesk background`: the absence scheduler, the SLA watcher, the delivery workers
and the mail receivers (SMTP/LMTP when HELPDESK_INBOUND_SMTP_PORT is set, IMAP
polling), without HTTP.

`helpdesk serve` runs this as a child process at a lower CPU priority instead of inside
its API workers. In a worker, a handover batch or a burst of e-mails to render holds
the event loop that also answers requests (a GET waited seconds behind a handover);
in a process of its own the kernel shares the CPU, and requests come first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from datetime import timedelta

from app import wiring
from app.alerts.evaluate import evaluate_all
from app.chats.fallback import fall_back_unanswered
from app.common.periodic import every
from app.config import Settings
from app.continuity.scheduler import ContinuityScheduler
from app.db import create_engine
from app.inbound.running import running_receivers
from app.metrics.backfill import rebuild_in_background
from app.metrics.compaction import compact_all
from app.notifications.setup import running_workers
from app.signin.setup import run_mailer
from app.sla.watcher import raise_all

logger = logging.getLogger(__name__)


async def run_background(settings: Settings, database_url: str) -> None:
    wiring.configure(settings)
    engine = create_engine(settings, database_url)
    sessionmaker = wiring.sessionmaker_for(engine)
    tasks = [asyncio.create_task(_orphaned(), name="parent-watch")]
    if settings.continuity_scheduler:
        scheduler = ContinuityScheduler(
            sessionmaker,
            database_url,
            interval=settings.continuity_scheduler_interval_seconds,
            batch_size=settings.continuity_batch_size,
            workers=settings.continuity_workers,
        )
        tasks.append(asyncio.create_task(scheduler.run(), name="continuity-scheduler"))
    if settings.notification_workers > 0:
        # Sign-in links are minted where notifications are delivered.
        mailer = run_mailer(sessionmaker, settings.notification_poll_interval_seconds)
        tasks.append(asyncio.create_task(mailer, name="sign-in-mailer"))
    if settings.sla_watcher:
        watcher = every(
            settings.sla_check_interval_seconds,
            lambda: raise_all(
                sessionmaker, settings.sla_warning_ratio, settings.unowned_alert_after
            ),
            "the SLA watcher's pass",
        )
        tasks.append(asyncio.create_task(watcher, name="sla-watcher"))
    fallback = every(
        settings.chat_fallback_check_seconds,
        lambda: fall_back_unanswered(
            sessionmaker, timedelta(seconds=settings.chat_fallback_seconds)
        ),
        "the unanswered chats' pass",
    )
    tasks.append(asyncio.create_task(fallback, name="chat-fallback"))
    if settings.metrics_compactor:
        compactor = every(
            settings.metrics_compact_interval_seconds,
            lambda: compact_all(sessionmaker),
            "compacting the metrics' rollups",
        )
        tasks.append(asyncio.create_task(compactor, name="metrics-compactor"))
        # Tickets filed before the metrics existed, once (it idles when done).
        rebuild = rebuild_in_background(sessionmaker)
        tasks.append(asyncio.create_task(rebuild, name="metrics-rebuild"))
    if settings.alert_evaluator:
        evaluator = every(
            settings.alert_check_interval_seconds,
            lambda: evaluate_all(sessionmaker),
            "the alert rules' pass",
        )
        tasks.append(asyncio.create_task(evaluator, name="alert-evaluator"))
    try:
        async with (
            running_workers(settings, sessionmaker, database_url, settings.notification_workers),
            running_receivers(settings, sessionmaker, database_url),
        ):
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await engine.dispose()


async def _orphaned() -> None:
    """Returns when the process that started us is gone (killed without cleaning up):
    a scheduler and workers nobody can stop must not outlive the service."""
    parent = os.getppid()
    while os.getppid() == parent:  # noqa: ASYNC110 - nothing to wait on but polling
        await asyncio.sleep(1.0)
    logger.warning("the serving process is gone; background work stops")
