"""Attachment files outside the database, stored once by content.

A file's key is the SHA-256 of its bytes: the same file sent ten times (a logo in
every signature) is stored once, and a stored file can never change under its key.
The database keeps, per message, the key with the file name and type.

`save` streams: the bytes go to a temporary file chunk by chunk while they are hashed
and measured, so a 20 MB upload is never held in memory twice and an oversized one is
refused as soon as it crosses the limit. Only after the policy accepts the file is it
moved under its key (locally a rename on the same file system; on S3 one upload of the
finished file, skipped when the key is already there).

Two stores: `LocalAttachmentStore` (a folder, the default, under HELPDESK_DATA_DIR) and
`S3AttachmentStore` (any S3-compatible service, in `app.attachments.s3`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from app.attachments.policy import SNIFF_BYTES, AttachmentPolicy, AttachmentRejected, RejectReason

CHUNK = 1024 * 1024
_SHA256 = re.compile(r"^[0-9a-f]{64}$")

Source = bytes | bytearray | memoryview | BinaryIO | AsyncIterable[bytes]


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file in the store: its key (`sha256`), `size`, and the type the policy recorded."""

    sha256: str
    size: int
    content_type: str


class AttachmentNotFound(Exception):
    """No file is stored under that key."""


class AttachmentStore(Protocol):
    """Where attachment bytes live. Every method is safe to call from the event loop:
    blocking I/O runs in worker threads."""

    policy: AttachmentPolicy

    async def save(
        self, source: Source, *, filename: str | None = None, content_type: str | None = None
    ) -> StoredFile:
        """Store a file (bytes, a binary file object, or an async stream of chunks),
        checked against the policy. Raises AttachmentRejected (too large, type refused)."""
        ...

    async def keep(self, source: Source, *, max_bytes: int, content_type: str) -> StoredFile:
        """Store a file of the desk's own (a raw mail as it arrived) by its content, like
        any other, but without the type policy: it is kept, never served to a browser."""
        ...

    async def exists(self, sha256: str) -> bool: ...

    def read(self, sha256: str) -> AsyncIterator[bytes]:
        """The file's bytes in chunks; AttachmentNotFound when it is not stored."""
        ...

    async def delete(self, sha256: str) -> None:
        """Remove a file (once no message refers to it); absent files are fine."""
        ...


def check_key(sha256: str) -> str:
    if not _SHA256.match(sha256):
        raise AttachmentNotFound(sha256[:80])
    return sha256


@dataclass
class Spooled:
    """A file written to a temporary path while it was hashed and measured."""

    path: Path
    sha256: str
    size: int
    head: bytes


def _chunks_of(source: bytes | bytearray | memoryview | BinaryIO) -> Iterator[bytes | memoryview]:
    if isinstance(source, bytes | bytearray | memoryview):
        view = memoryview(source)
        for start in range(0, len(view), CHUNK):
            yield view[start : start + CHUNK]
        return
    while chunk := source.read(CHUNK):
        yield chunk


class _Spool:
    """Writes chunks to a temporary file, hashing and counting, refusing past the limit."""

    def __init__(self, folder: Path, max_bytes: int) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        descriptor, name = tempfile.mkstemp(prefix="upload-", dir=folder)
        self.path = Path(name)
        self.file = os.fdopen(descriptor, "wb")
        self.digest = hashlib.sha256()
        self.size = 0
        self.head = bytearray()
        self.max_bytes = max_bytes

    def write(self, chunk: bytes | memoryview) -> None:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise AttachmentRejected(
                RejectReason.TOO_LARGE, f"the file is larger than {self.max_bytes} bytes"
            )
        if len(self.head) < SNIFF_BYTES:
            self.head += bytes(chunk[: SNIFF_BYTES - len(self.head)])
        self.digest.update(chunk)
        self.file.write(chunk)

    def finish(self) -> Spooled:
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        return Spooled(self.path, self.digest.hexdigest(), self.size, bytes(self.head))

    def discard(self) -> None:
        self.file.close()
        self.path.unlink(missing_ok=True)


async def spool(source: Source, folder: Path, max_bytes: int) -> Spooled:
    """Write `source` to a temporary file in `folder` (see `_Spool`)."""
    target = await asyncio.to_thread(_Spool, folder, max_bytes)
    try:
        if isinstance(source, AsyncIterable):
            async for chunk in source:
                await asyncio.to_thread(target.write, chunk)
        else:

            def write_all() -> None:
                for chunk in _chunks_of(source):
                    target.write(chunk)

            await asyncio.to_thread(write_all)
        return await asyncio.to_thread(target.finish)
    except BaseException:
        await asyncio.to_thread(target.discard)
        raise


class LocalAttachmentStore:
    """Files under `root/ab/cd/<sha256>`; temporary files under `root/tmp`."""

    def __init__(self, root: Path, policy: AttachmentPolicy) -> None:
        self.root = root
        self.policy = policy

    def path_of(self, sha256: str) -> Path:
        key = check_key(sha256)
        return self.root / key[:2] / key[2:4] / key

    async def save(
        self, source: Source, *, filename: str | None = None, content_type: str | None = None
    ) -> StoredFile:
        spooled = await spool(source, self.root / "tmp", self.policy.max_bytes)
        try:
            recorded = self.policy.recorded_type(filename, content_type, spooled.head)
            await asyncio.to_thread(self._commit, spooled)
        finally:
            spooled.path.unlink(missing_ok=True)
        return StoredFile(spooled.sha256, spooled.size, recorded)

    async def keep(self, source: Source, *, max_bytes: int, content_type: str) -> StoredFile:
        if isinstance(source, bytes) and len(source) <= CHUNK:
            # Small bytes (most mail): one trip to a worker thread instead of four.
            return await asyncio.to_thread(self._keep_small, source, max_bytes, content_type)
        spooled = await spool(source, self.root / "tmp", max_bytes)
        try:
            await asyncio.to_thread(self._commit, spooled)
        finally:
            spooled.path.unlink(missing_ok=True)
        return StoredFile(spooled.sha256, spooled.size, content_type)

    def _keep_small(self, content: bytes, max_bytes: int, content_type: str) -> StoredFile:
        target = _Spool(self.root / "tmp", max_bytes)
        try:
            target.write(content)
            spooled = target.finish()
        except BaseException:
            target.discard()
            raise
        try:
            self._commit(spooled)
        finally:
            spooled.path.unlink(missing_ok=True)
        return StoredFile(spooled.sha256, spooled.size, content_type)

    def _commit(self, spooled: Spooled) -> None:
        final = self.path_of(spooled.sha256)
        if final.exists():
            return  # stored once: the same bytes are already there
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(spooled.path, final)

    async def exists(self, sha256: str) -> bool:
        try:
            path = self.path_of(sha256)
        except AttachmentNotFound:
            return False
        return await asyncio.to_thread(path.is_file)

    async def read(self, sha256: str) -> AsyncIterator[bytes]:
        path = self.path_of(sha256)
        try:
            handle = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError as missing:
            raise AttachmentNotFound(sha256) from missing
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK):
                yield chunk
        finally:
            await asyncio.to_thread(handle.close)

    async def delete(self, sha256: str) -> None:
        with contextlib.suppress(AttachmentNotFound):
            await asyncio.to_thread(self.path_of(sha256).unlink, missing_ok=True)
