"""The S3 store against a real S3-compatible server: moto's, started as its own process
on a free loopback port and stopped at the end."""

from __future__ import annotations

import hashlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.attachments.policy import AttachmentPolicy, AttachmentRejected
from app.attachments.s3 import S3AttachmentStore
from app.attachments.setup import store_from_settings
from app.attachments.store import AttachmentNotFound
from app.config import Settings

BUCKET = "helpdesk-attachments"
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 8


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = _free_port()
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{endpoint}/moto-api/", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                pytest.fail("the S3 test server did not start")
            time.sleep(0.1)
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def settings(s3_endpoint: str, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        attachment_store="s3",
        attachment_s3_bucket=BUCKET,
        attachment_s3_endpoint_url=s3_endpoint,
        attachment_s3_region="us-east-1",
        attachment_s3_access_key_id="test-key",
        attachment_s3_secret_access_key="test-secret",  # type: ignore[arg-type]
        attachment_s3_addressing_style="path",
        attachment_max_bytes=4 * 1024 * 1024,
    )


@pytest.fixture
def store(settings: Settings) -> Iterator[S3AttachmentStore]:
    made = store_from_settings(settings)
    assert isinstance(made, S3AttachmentStore)
    made.client.create_bucket(Bucket=BUCKET)
    yield made
    listed = made.client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    for item in listed:
        made.client.delete_object(Bucket=BUCKET, Key=item["Key"])
    made.client.delete_bucket(Bucket=BUCKET)


def _keys(store: S3AttachmentStore) -> list[str]:
    listed = store.client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return sorted(item["Key"] for item in listed)


async def test_stores_once_by_content_and_reads_back(store: S3AttachmentStore) -> None:
    stored = await store.save(PDF, filename="invoice.pdf", content_type="application/octet-stream")
    assert stored.sha256 == hashlib.sha256(PDF).hexdigest()
    assert stored.content_type == "application/pdf"
    again = await store.save(PDF, filename="copy.pdf")
    assert again == stored
    assert _keys(store) == [f"attachments/{stored.sha256}"]
    head = store.client.head_object(Bucket=BUCKET, Key=f"attachments/{stored.sha256}")
    assert head["ContentType"] == "application/pdf"
    assert head["ContentLength"] == len(PDF)
    assert await store.exists(stored.sha256)
    assert b"".join([chunk async for chunk in store.read(stored.sha256)]) == PDF
    await store.delete(stored.sha256)
    assert not await store.exists(stored.sha256)
    with pytest.raises(AttachmentNotFound):
        [chunk async for chunk in store.read(stored.sha256)]


async def test_large_file_goes_up_in_parts_and_refusals_upload_nothing(
    store: S3AttachmentStore,
) -> None:
    big = bytes(range(256)) * (12 * 1024 * 1024 // 256)  # above boto3's 8 MB part size
    store.policy = AttachmentPolicy(max_bytes=16 * 1024 * 1024)
    stored = await store.save(big, filename="dump.bin")
    assert stored.size == len(big)
    assert b"".join([chunk async for chunk in store.read(stored.sha256)]) == big
    store.policy = AttachmentPolicy(max_bytes=1024)
    with pytest.raises(AttachmentRejected):
        await store.save(PDF, filename="too-big.pdf")
    with pytest.raises(AttachmentRejected):
        await store.save(b"MZ\x90\x00" + b"\x00" * 64, filename="a.png")
    assert _keys(store) == [f"attachments/{stored.sha256}"]


def test_credentials_come_from_the_settings(settings: Settings) -> None:
    made = store_from_settings(settings)
    assert isinstance(made, S3AttachmentStore)
    credentials = made.client._request_signer._credentials
    assert credentials is not None
    assert credentials.access_key == "test-key"
