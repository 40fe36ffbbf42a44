"""Files uploaded with a request (multipart/form-data) into the store, checked by policy."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.datastructures import UploadFile

from app.attachments.policy import AttachmentRejected
from app.attachments.records import NewAttachment
from app.attachments.store import AttachmentStore
from app.errors import UnprocessableEntity


async def store_uploads(
    store: AttachmentStore, uploads: Sequence[UploadFile], *, max_files: int
) -> list[NewAttachment]:
    """Each upload into the store; a refused one is a 422 naming the file and why."""
    if len(uploads) > max_files:
        raise UnprocessableEntity(f"At most {max_files} files per request.", loc=("body", "files"))
    stored = []
    for index, upload in enumerate(uploads):
        try:
            saved = await store.save(
                upload.file, filename=upload.filename, content_type=upload.content_type
            )
        except AttachmentRejected as rejected:
            name = upload.filename or f"file {index + 1}"
            raise UnprocessableEntity(
                f"{name}: {rejected.detail}.", loc=("body", "files", str(index))
            ) from None
        stored.append(NewAttachment(saved, _bare_name(upload.filename)))
    return stored


def _bare_name(filename: str | None) -> str | None:
    """A file name without directories or control characters (browsers on Windows send
    C:\\path\\name)."""
    if not filename:
        return None
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:255] or None
