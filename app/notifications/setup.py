"""Building the channels from the settings, and running workers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.attachments.setup import store_from_settings
from app.config import Settings
from app.models import DeliveryChannel
from app.notifications import outbox, webhook_health
from app.notifications.channels.base import ChannelAdapter
from app.notifications.channels.email import FileMailbox, SmtpChannel
from app.notifications.channels.sms import FileSmsBox, TwilioChannel
from app.notifications.channels.webhook import WebhookChannel
from app.notifications.mail_files import MailFiles
from app.notifications.worker import DeliveryWorker


def build_channels(
    settings: Settings, http: httpx.AsyncClient
) -> dict[DeliveryChannel, ChannelAdapter]:
    email: ChannelAdapter
    if settings.smtp_host:
        email = SmtpChannel(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.mail_from,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            use_tls=settings.smtp_security == "tls",
            start_tls=settings.smtp_security == "starttls",
            timeout=settings.smtp_timeout_seconds,
        )
    else:
        email = FileMailbox(settings.mailbox_dir, settings.mail_from)
    sms: ChannelAdapter
    if settings.sms_provider_url and settings.sms_account_sid and settings.sms_auth_token:
        sms = TwilioChannel(
            http,
            base_url=settings.sms_provider_url,
            account_sid=settings.sms_account_sid,
            auth_token=settings.sms_auth_token.get_secret_value(),
            sender=settings.sms_from or "",
            limit=settings.sms_max_chars,
            status_callback=(settings.sms_webhook_base_url or settings.public_base_url).rstrip("/")
            + SMS_STATUS_PATH,
        )
    else:
        sms = FileSmsBox(settings.mailbox_dir / "sms", settings.sms_max_chars)
    return {
        DeliveryChannel.EMAIL: email,
        DeliveryChannel.SMS: sms,
        DeliveryChannel.WEBHOOK: WebhookChannel(http, settings),
    }


# Where app/inbound takes the provider's delivery-status callbacks (its router says so).
SMS_STATUS_PATH = "/api/v1/inbound/sms/twilio/status"


def configure_outbox(settings: Settings) -> None:
    outbox.configure(settings.notification_coalesce_seconds, settings.mail_domain)
    webhook_health.configure(settings.webhook_disable_after_hours)


def make_worker(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    database_url: str,
    http: httpx.AsyncClient,
) -> DeliveryWorker:
    return DeliveryWorker(
        sessionmaker,
        build_channels(settings, http),
        database_url=database_url,
        mail_domain=settings.mail_domain,
        concurrency=settings.notification_concurrency,
        lease_seconds=settings.notification_lease_seconds,
        poll_interval=settings.notification_poll_interval_seconds,
        mail_files=MailFiles(
            store_from_settings(settings),
            attach_up_to=settings.attachment_mail_link_above_bytes,
            secret=settings.secret_key.get_secret_value(),
            public_base_url=settings.public_base_url,
        ),
        reply_address=settings.inbound_reply_address,
    )


@contextlib.asynccontextmanager
async def running_workers(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    database_url: str,
    count: int,
) -> AsyncIterator[list[DeliveryWorker]]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0), follow_redirects=False) as http:
        workers = [make_worker(settings, sessionmaker, database_url, http) for _ in range(count)]
        tasks = [asyncio.create_task(worker.run(), name="delivery-worker") for worker in workers]
        try:
            yield workers
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
