"""Building the intake pipelines from the settings."""

from __future__ import annotations

from datetime import timedelta

from app.attachments.store import AttachmentStore
from app.config import Settings
from app.inbound.email import EmailAdapter, EmailSettings
from app.inbound.pipeline import Intake
from app.inbound.posts import PostAdapter
from app.inbound.sms import SmsAdapter


def email_intake(settings: Settings, store: AttachmentStore) -> Intake:
    return Intake(
        adapter=EmailAdapter(EmailSettings.from_settings(settings)),
        store=store,
        # A mail over the limit is still kept (quarantined, unread) up to twice it.
        max_raw_bytes=2 * settings.inbound_max_message_bytes,
        sender_limit=settings.inbound_sender_limit,
        sender_window=timedelta(seconds=settings.inbound_sender_window_seconds),
    )


def message_intake(settings: Settings, store: AttachmentStore) -> Intake:
    """Connectors' messages: the sender limit is per handle on its source."""
    return Intake(
        adapter=PostAdapter(settings.search_config),
        store=store,
        max_raw_bytes=settings.max_body_bytes,
        sender_limit=settings.inbound_sender_limit,
        sender_window=timedelta(seconds=settings.inbound_sender_window_seconds),
    )


def sms_intake(settings: Settings, store: AttachmentStore) -> Intake:
    """Texts: the sender limit is per number."""
    return Intake(
        adapter=SmsAdapter(
            settings.search_config, timedelta(minutes=settings.sms_thread_window_minutes)
        ),
        store=store,
        max_raw_bytes=settings.max_body_bytes,
        sender_limit=settings.inbound_sender_limit,
        sender_window=timedelta(seconds=settings.inbound_sender_window_seconds),
    )


def intakes(settings: Settings, store: AttachmentStore) -> dict[str, Intake]:
    """Every channel's intake, by the channel name its inbound rows carry."""
    return {
        "email": email_intake(settings, store),
        "message": message_intake(settings, store),
        "sms": sms_intake(settings, store),
    }
