"""Building the attachment store the settings name (local folder or S3)."""

from __future__ import annotations

from app.attachments.policy import AttachmentPolicy
from app.attachments.store import AttachmentStore, LocalAttachmentStore
from app.config import Settings


def policy_from_settings(settings: Settings) -> AttachmentPolicy:
    return AttachmentPolicy(
        max_bytes=settings.attachment_max_bytes,
        denied_types=tuple(settings.attachment_denied_types),
        denied_extensions=tuple(settings.attachment_denied_extensions),
        allowed_types=tuple(settings.attachment_allowed_types),
    )


def store_from_settings(settings: Settings) -> AttachmentStore:
    """The store HELPDESK_ATTACHMENT_STORE names, configured from the settings."""
    policy = policy_from_settings(settings)
    if settings.attachment_store == "s3":
        from app.attachments.s3 import S3AttachmentStore  # boto3 loads only when used

        return S3AttachmentStore.from_settings(settings, policy)
    return LocalAttachmentStore(settings.attachments_dir, policy)
