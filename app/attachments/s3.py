"""Attachments in any S3-compatible object store (AWS S3, MinIO, Ceph, Garage, R2...),
through boto3, the maintained AWS SDK.

Keys are `<prefix><sha256>`. A file is spooled to a local temporary file first (its
key is its hash, known only at the end), then uploaded once with boto3's managed
transfer, which streams from disk in parts; when the key already exists the upload is
skipped. boto3 is synchronous, so every call runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from app.attachments.policy import AttachmentPolicy
from app.attachments.store import (
    CHUNK,
    AttachmentNotFound,
    Source,
    StoredFile,
    check_key,
    spool,
)
from app.config import Settings

if TYPE_CHECKING:
    from types_boto3_s3.client import S3Client

_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})


def _missing(error: ClientError) -> bool:
    return str(error.response.get("Error", {}).get("Code", "")) in _MISSING


class S3AttachmentStore:
    def __init__(
        self,
        client: S3Client,
        bucket: str,
        prefix: str,
        policy: AttachmentPolicy,
        spool_dir: Path | None = None,
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.policy = policy
        self.spool_dir = spool_dir or Path(tempfile.gettempdir()) / "helpdesk-attachments"

    @classmethod
    def from_settings(cls, settings: Settings, policy: AttachmentPolicy) -> S3AttachmentStore:
        assert settings.attachment_s3_bucket is not None  # the settings refuse s3 without one
        options: dict[str, Any] = {
            "endpoint_url": settings.attachment_s3_endpoint_url,
            "region_name": settings.attachment_s3_region,
            "config": Config(
                s3={"addressing_style": settings.attachment_s3_addressing_style},
                retries={"max_attempts": 5, "mode": "standard"},
            ),
        }
        if settings.attachment_s3_access_key_id and settings.attachment_s3_secret_access_key:
            options["aws_access_key_id"] = settings.attachment_s3_access_key_id
            options["aws_secret_access_key"] = (
                settings.attachment_s3_secret_access_key.get_secret_value()
            )
        client = boto3.client("s3", **options)
        return cls(
            client,
            settings.attachment_s3_bucket,
            settings.attachment_s3_prefix,
            policy,
            settings.attachments_dir / "tmp",
        )

    def key_of(self, sha256: str) -> str:
        return f"{self.prefix}{check_key(sha256)}"

    async def save(
        self, source: Source, *, filename: str | None = None, content_type: str | None = None
    ) -> StoredFile:
        return await self._store(source, self.policy.max_bytes, filename, content_type)

    async def keep(self, source: Source, *, max_bytes: int, content_type: str) -> StoredFile:
        return await self._store(source, max_bytes, None, content_type, checked=False)

    async def _store(
        self,
        source: Source,
        max_bytes: int,
        filename: str | None,
        content_type: str | None,
        *,
        checked: bool = True,
    ) -> StoredFile:
        spooled = await spool(source, self.spool_dir, max_bytes)
        try:
            if checked:
                recorded = self.policy.recorded_type(filename, content_type, spooled.head)
            else:
                recorded = content_type or "application/octet-stream"
            if not await self.exists(spooled.sha256):
                await asyncio.to_thread(
                    self.client.upload_file,
                    str(spooled.path),
                    self.bucket,
                    self.key_of(spooled.sha256),
                    ExtraArgs={"ContentType": recorded},
                )
        finally:
            spooled.path.unlink(missing_ok=True)
        return StoredFile(spooled.sha256, spooled.size, recorded)

    async def exists(self, sha256: str) -> bool:
        try:
            key = self.key_of(sha256)
        except AttachmentNotFound:
            return False
        try:
            await asyncio.to_thread(self.client.head_object, Bucket=self.bucket, Key=key)
        except ClientError as error:
            if _missing(error):
                return False
            raise
        return True

    async def read(self, sha256: str) -> AsyncIterator[bytes]:
        key = self.key_of(sha256)
        try:
            response = await asyncio.to_thread(self.client.get_object, Bucket=self.bucket, Key=key)
        except ClientError as error:
            if _missing(error):
                raise AttachmentNotFound(sha256) from error
            raise
        body = response["Body"]
        try:
            while chunk := await asyncio.to_thread(body.read, CHUNK):
                yield chunk
        finally:
            await asyncio.to_thread(body.close)

    async def delete(self, sha256: str) -> None:
        try:
            key = self.key_of(sha256)
        except AttachmentNotFound:
            return
        await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=key)
