"""The local store: content-addressed, stored once, streamed, refused past the limits."""

from __future__ import annotations

import hashlib
import io
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.attachments.policy import AttachmentPolicy, AttachmentRejected, RejectReason
from app.attachments.setup import store_from_settings
from app.attachments.store import (
    AttachmentNotFound,
    LocalAttachmentStore,
)
from app.config import Settings

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4


async def _read_all(store: LocalAttachmentStore, sha256: str) -> bytes:
    return b"".join([chunk async for chunk in store.read(sha256)])


def _files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


async def test_a_file_is_stored_under_its_sha256_and_read_back(tmp_path: Path) -> None:
    store = LocalAttachmentStore(tmp_path, AttachmentPolicy())
    stored = await store.save(PNG, filename="logo.png", content_type="application/octet-stream")
    assert stored.sha256 == hashlib.sha256(PNG).hexdigest()
    assert stored.size == len(PNG)
    assert stored.content_type == "image/png"
    assert await store.exists(stored.sha256)
    assert await _read_all(store, stored.sha256) == PNG
    assert _files(tmp_path) == [tmp_path / stored.sha256[:2] / stored.sha256[2:4] / stored.sha256]


async def test_the_same_bytes_are_stored_once(tmp_path: Path) -> None:
    store = LocalAttachmentStore(tmp_path, AttachmentPolicy())
    first = await store.save(PNG, filename="a.png")
    path = store.path_of(first.sha256)
    inode = path.stat().st_ino
    second = await store.save(io.BytesIO(PNG), filename="copy.png")
    assert second == first
    assert path.stat().st_ino == inode
    assert len(_files(tmp_path)) == 1


async def test_streams_from_an_async_source(tmp_path: Path) -> None:
    store = LocalAttachmentStore(tmp_path, AttachmentPolicy())
    parts = [b"a" * 700_000, b"b" * 700_000, b"c"]

    async def source() -> AsyncIterator[bytes]:
        for part in parts:
            yield part

    stored = await store.save(source(), filename="big.txt", content_type="text/plain")
    assert stored.size == 1_400_001
    assert stored.sha256 == hashlib.sha256(b"".join(parts)).hexdigest()


async def test_too_large_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    store = LocalAttachmentStore(tmp_path, AttachmentPolicy(max_bytes=1000))
    with pytest.raises(AttachmentRejected) as refused:
        await store.save(b"x" * 1001, filename="x.txt")
    assert refused.value.reason is RejectReason.TOO_LARGE
    assert _files(tmp_path) == []


async def test_a_refused_type_leaves_nothing(tmp_path: Path) -> None:
    store = LocalAttachmentStore(tmp_path, AttachmentPolicy())
    with pytest.raises(AttachmentRejected):
        await store.save(
            b"MZ\x90\x00" + b"\x00" * 100, filename="cat.jpg", content_type="image/jpeg"
        )
    assert _files(tmp_path) == []


async def test_missing_and_malformed_keys(tmp_path: Path) -> None:
    store = LocalAttachmentStore(tmp_path, AttachmentPolicy())
    with pytest.raises(AttachmentNotFound):
        await _read_all(store, "0" * 64)
    with pytest.raises(AttachmentNotFound):
        await _read_all(store, "../../etc/passwd")
    assert not await store.exists("../../etc/passwd")
    stored = await store.save(PNG)
    await store.delete(stored.sha256)
    assert not await store.exists(stored.sha256)
    await store.delete(stored.sha256)  # twice is fine


async def test_a_20_mb_file_is_never_held_twice(tmp_path: Path) -> None:
    store = LocalAttachmentStore(tmp_path, AttachmentPolicy(max_bytes=30 * 1024 * 1024))
    data = bytes(20 * 1024 * 1024)
    tracemalloc.start()
    try:
        stored = await store.save(data, filename="zeros.bin")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert stored.size == len(data)
    # Chunks of 1 MiB and the 8 KiB sniffing head, not another copy of the file.
    assert peak < 4 * 1024 * 1024, peak


def test_settings_choose_the_store(tmp_path: Path) -> None:
    store = store_from_settings(Settings(data_dir=tmp_path))
    assert isinstance(store, LocalAttachmentStore)
    assert store.root == tmp_path / "attachments"
    assert store.policy.max_bytes == 25 * 1024 * 1024
    narrowed = store_from_settings(
        Settings(
            data_dir=tmp_path,
            attachment_allowed_types="image/*,application/pdf",  # type: ignore[arg-type]
            attachment_max_bytes=2048,
        )
    )
    assert narrowed.policy.allowed_types == ("image/*", "application/pdf")
    assert narrowed.policy.max_bytes == 2048
    with pytest.raises(ValidationError, match="ATTACHMENT_S3_BUCKET"):
        Settings(attachment_store="s3")
