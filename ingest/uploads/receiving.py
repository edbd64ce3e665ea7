"""Receiving an upload's bytes: each PATCH body stored as a chunk and recorded, and the upload
completed (sha256 checked) once its last byte is in.

These commit: a chunk must be recorded before it is answered for, and no transaction may
stay open while a body streams in (minutes, on a slow link).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Executable, select, update
from sqlalchemy.orm import Session

from catalog.errors import Conflict, NotFound
from catalog.models import utcnow
from catalog.settings import Settings
from catalog.storage.base import ObjectStore, StoreError, StoreUnavailable
from ingest.uploads.errors import BadRequest, ChecksumMismatch, PayloadTooLarge
from ingest.uploads.models import Upload, UploadChunk, UploadState
from ingest.uploads.running import RUNNING
from ingest.uploads.staging import (
    Checksum,
    ChunkRef,
    chunk_key,
    digest_chunks,
    ensure_empty,
    write_chunk,
)

log = logging.getLogger(__name__)


def append(
    session: Session,
    store: ObjectStore,
    *,
    upload: Upload,
    offset: int,
    body: Iterable[bytes],
    settings: Settings,
    content_length: int | None = None,
    checksum: Checksum | None = None,
    declared_length: int | None = None,
    now: datetime | None = None,
) -> Upload:
    """Store ``body`` as the chunk at ``offset`` (which must be the upload's offset) and
    advance the offset by what was stored; finish the upload when its last byte is in.

    A body that breaks off (BodyInterrupted) keeps what arrived, unless a ``checksum`` was
    given; ``declared_length`` sets a deferred Upload-Length.
    """
    now = now or utcnow()
    if upload.state is UploadState.failed:
        raise Conflict(f"the upload failed ({upload.error}); start a new upload")
    if offset != upload.offset:
        raise Conflict(
            f"Upload-Offset is {offset} but the upload is at {upload.offset}; "
            "ask HEAD for the offset and resume from there",
            field="Upload-Offset",
        )
    length = _length_after(upload, declared_length, settings)
    limit = (length if length is not None else settings.upload_max_bytes) - offset
    if content_length is not None and content_length > limit:
        raise PayloadTooLarge(
            f"the body is {content_length} bytes but only {limit} more are allowed "
            f"(Upload-Length {length}); nothing was stored",
            field="Content-Length",
        )
    if upload.state is UploadState.complete:
        ensure_empty(body)  # an empty PATCH at the end is harmless; any byte is one too many
        return upload
    # Refreshed before the body streams in, so a long PATCH is not swept as abandoned; the
    # commit also ends the read transaction, which must not stay open while bytes arrive.
    session.execute(
        update(Upload)
        .where(Upload.id == upload.id)
        .values({Upload.expires_at: now + timedelta(hours=settings.upload_expiry_hours)})
        .execution_options(synchronize_session=False)
    )
    session.commit()
    # The upload's sha256 so far, if this process received the bytes before ``offset``; it
    # is continued with this body's bytes, so completion need not read the file again.
    running = RUNNING.resume(upload.id, offset)
    stored = write_chunk(
        store,
        chunk_key(upload.id, offset),
        body,
        limit=limit,
        checksum=checksum,
        running=running,
    )
    values: dict[Any, Any] = {
        Upload.updated_at: now,
        Upload.expires_at: now + timedelta(hours=settings.upload_expiry_hours),
    }
    if stored is not None:
        values[Upload.offset] = Upload.offset + stored.size
    if length != upload.length:
        values[Upload.length] = length
    # Only if nobody moved the upload meanwhile (a second PATCH racing this one, a DELETE).
    result = _execute(
        session,
        update(Upload)
        .where(
            Upload.id == upload.id,
            Upload.offset == offset,
            Upload.state == UploadState.receiving,
        )
        .values(values)
        .execution_options(synchronize_session=False),
    )
    if result.rowcount != 1:
        upload_id = upload.id  # read before the rollback expires it (the row may be gone)
        session.rollback()
        if stored is not None:
            store.delete(stored.key)
        if session.get(Upload, upload_id) is None:
            raise NotFound(f"upload {upload_id!r} was terminated", field="upload_id")
        raise Conflict("another request changed the upload meanwhile; ask HEAD for its offset")
    if stored is not None:
        session.add(
            UploadChunk(
                upload_id=upload.id,
                start=offset,
                size=stored.size,
                sha256=stored.sha256,
                key=stored.key,
                created_at=now,
            )
        )
    session.commit()
    if stored is not None and running is not None:
        RUNNING.advance(upload.id, offset, offset + stored.size, running)
    session.refresh(upload)
    if stored is not None and stored.interrupted:
        log.info("upload %s: kept %d bytes of an interrupted PATCH", upload.id, stored.size)
    # A new name: mypy would keep the state narrowed by the checks above.
    finished = finish_upload(session, store=store, upload=upload, settings=settings, now=now)
    if finished.state is UploadState.failed:
        raise ChecksumMismatch(f"the upload failed: {finished.error}", field="upload")
    return finished


def _execute(session: Session, statement: Executable) -> CursorResult[Any]:
    """An UPDATE or DELETE, whose result has a rowcount (Session.execute's type hides it)."""
    return cast(CursorResult[Any], session.execute(statement))


def _length_after(upload: Upload, declared: int | None, settings: Settings) -> int | None:
    """The upload's length once this request's Upload-Length (if any) is applied."""
    if declared is None:
        return upload.length
    if upload.length is not None:
        if declared != upload.length:
            raise BadRequest(
                f"Upload-Length is already {upload.length}; it cannot change",
                field="Upload-Length",
            )
        return upload.length
    if declared > settings.upload_max_bytes:
        raise PayloadTooLarge(
            f"the upload is {declared} bytes; the limit is {settings.upload_max_bytes}",
            field="Upload-Length",
        )
    if declared < upload.offset:
        raise BadRequest(
            f"Upload-Length {declared} is less than the {upload.offset} bytes already received",
            field="Upload-Length",
        )
    return declared


def finish_upload(
    session: Session,
    *,
    store: ObjectStore | None,
    upload: Upload,
    settings: Settings,
    now: datetime | None = None,
) -> Upload:
    """Once every byte is in: take the whole file's sha256, compare it with the one the
    client declared, and mark the upload complete (or failed). Idempotent.

    The sha256 is the running one when this process received every chunk (``running``);
    otherwise the file is read once for it, each chunk checked against its record. A store
    that is down leaves the upload receiving, to be finished by the next call.
    """
    if (
        upload.state is not UploadState.receiving
        or upload.length is None
        or upload.offset != upload.length
    ):
        return upload
    now = now or utcnow()
    refs = [ChunkRef(c.key, c.size, c.sha256) for c in recorded_chunks(session, upload.id)]
    error = None
    try:
        if sum(ref.size for ref in refs) != upload.length:
            raise StoreError("the recorded chunks do not add up to the upload's length")
        digest = RUNNING.hexdigest(upload.id, upload.length)
        if not refs:
            digest = hashlib.sha256().hexdigest()
        elif digest is not None:
            pass  # the chunks' bytes were hashed as they arrived, by this process
        elif store is None:
            raise ValueError("finishing a non-empty upload needs its store")
        else:
            digest = digest_chunks(store, refs)
    except StoreUnavailable:
        raise
    except StoreError as exc:
        log.error("upload %s is damaged: %s", upload.id, exc)
        digest, error = None, f"the stored bytes are damaged: {exc}"
    if digest is not None and upload.expected_sha256 not in {None, digest}:
        error = (
            f"the file's sha256 is {digest}, not the {upload.expected_sha256} "
            "declared in Upload-Metadata"
        )
    upload.sha256 = digest
    upload.updated_at = now
    if error is None:
        upload.state = UploadState.complete
        upload.completed_at = now
        upload.expires_at = now + timedelta(hours=settings.upload_retention_hours)
    else:
        # Kept until the ordinary expiry so the client can read why; then swept.
        upload.state = UploadState.failed
        upload.error = error
        upload.expires_at = now + timedelta(hours=settings.upload_expiry_hours)
    session.commit()
    RUNNING.forget(upload.id)
    return upload


def recorded_chunks(session: Session, upload_id: str) -> list[UploadChunk]:
    """The upload's recorded chunks, in order."""
    return list(
        session.scalars(
            select(UploadChunk)
            .where(UploadChunk.upload_id == upload_id)
            .order_by(UploadChunk.start)
        )
    )
