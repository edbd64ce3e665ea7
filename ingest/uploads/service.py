"""Uploads as plain functions over a session and a store: create, append, finish, terminate,
and what the ingest pipeline reads (get_upload, open_upload, delete_upload).

Unlike most catalog services these commit: a chunk must be recorded before it is answered
for, and no transaction may stay open while a body streams in (minutes, on a slow link).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, BinaryIO, cast

from sqlalchemy import CursorResult, Executable, select, update
from sqlalchemy.orm import Session

from catalog.errors import Conflict, InvalidInput, NotFound
from catalog.models import Organisation, utcnow
from catalog.principal import Principal, denied
from catalog.settings import Settings
from catalog.storage.base import ObjectStore, StoreError, StoreUnavailable
from ingest.uploads.errors import BadRequest, ChecksumMismatch, Gone, PayloadTooLarge
from ingest.uploads.metadata import UploadTarget
from ingest.uploads.models import Upload, UploadChunk, UploadState
from ingest.uploads.running import RUNNING
from ingest.uploads.staging import (
    Checksum,
    ChunkRef,
    chunk_key,
    delete_staged,
    digest_chunks,
    ensure_empty,
    open_chunks,
    write_chunk,
)

log = logging.getLogger(__name__)
_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")


def require_signed_in(principal: Principal) -> None:
    if not principal.is_authenticated:
        raise denied(principal, "uploads belong to signed-in users")


def create_upload(
    session: Session,
    *,
    principal: Principal,
    settings: Settings,
    target: UploadTarget,
    length: int | None,
    metadata_header: str = "",
    dataset_field: str = "Upload-Metadata.dataset",
    now: datetime | None = None,
) -> Upload:
    """A new, empty upload owned by ``principal``, who must be able to publish to the
    target's organisation (the dataset itself may not exist yet)."""
    require_signed_in(principal)
    assert principal.user_id is not None
    now = now or utcnow()
    organisation = session.scalars(
        select(Organisation).where(Organisation.name == target.organisation)
    ).first()
    if organisation is None and principal.is_sysadmin:
        raise InvalidInput(f"no organisation {target.organisation!r}", field=dataset_field)
    if organisation is None or not principal.can_write(organisation.id):
        # The same answer whether or not the organisation exists.
        raise denied(
            principal,
            f"only publishers and admins of {target.organisation!r} upload to its datasets",
        )
    if length is not None and length > settings.upload_max_bytes:
        raise PayloadTooLarge(
            f"the upload is {length} bytes; the limit is {settings.upload_max_bytes}",
            field="Upload-Length",
        )
    upload = Upload(
        owner_id=principal.user_id,
        organisation=organisation,
        dataset_name=target.dataset,
        filename=target.filename,
        content_type=target.content_type,
        length=length,
        offset=0,
        metadata_header=metadata_header,
        expected_sha256=target.sha256,
        state=UploadState.receiving,
        created_at=now,
        updated_at=now,
        expires_at=now + timedelta(hours=settings.upload_expiry_hours),
    )
    session.add(upload)
    session.commit()
    if length == 0:
        finish_upload(session, store=None, upload=upload, settings=settings, now=now)
    return upload


def get_owned_upload(
    session: Session, *, principal: Principal, upload_id: str, now: datetime | None = None
) -> Upload:
    """The upload, if ``principal`` owns it (or is a sysadmin); otherwise it does not exist."""
    require_signed_in(principal)
    upload = session.get(Upload, upload_id) if _UPLOAD_ID.match(upload_id) else None
    if upload is None or not (principal.is_sysadmin or upload.owner_id == principal.user_id):
        raise NotFound(f"no upload {upload_id!r}", field="upload_id")
    if upload.expires_at <= (now or utcnow()):
        raise Gone(f"upload {upload_id!r} has expired; start a new upload", field="upload_id")
    return upload


def list_uploads(
    session: Session, *, principal: Principal, now: datetime | None = None
) -> list[Upload]:
    """The caller's own uploads that have not expired, newest first."""
    require_signed_in(principal)
    return list(
        session.scalars(
            select(Upload)
            .where(Upload.owner_id == principal.user_id, Upload.expires_at > (now or utcnow()))
            .order_by(Upload.created_at.desc(), Upload.id)
        )
    )


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
    refs = [ChunkRef(c.key, c.size, c.sha256) for c in _chunks(session, upload.id)]
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


def _chunks(session: Session, upload_id: str) -> list[UploadChunk]:
    return list(
        session.scalars(
            select(UploadChunk)
            .where(UploadChunk.upload_id == upload_id)
            .order_by(UploadChunk.start)
        )
    )


def terminate(session: Session, store: ObjectStore, *, upload: Upload) -> None:
    """Delete the upload and its bytes (tus termination; the pipeline after ingesting)."""
    upload_id = upload.id
    session.delete(upload)
    session.commit()
    RUNNING.forget(upload_id)
    # Rows first: a failure below leaves unrecorded objects, which expire_uploads() sweeps;
    # the other order could leave rows pointing at missing bytes.
    try:
        delete_staged(store, upload_id)
    except StoreError as exc:
        log.warning("upload %s: its chunks are left for the sweep: %s", upload_id, exc)


def create_form_upload(
    session: Session,
    store: ObjectStore,
    *,
    principal: Principal,
    settings: Settings,
    target: UploadTarget,
    file: BinaryIO,
    size: int,
    now: datetime | None = None,
) -> Upload:
    """A complete upload from a file the form parser has already received."""
    upload = create_upload(
        session,
        principal=principal,
        settings=settings,
        target=target,
        length=size,
        dataset_field="dataset",
        now=now,
    )
    if size:
        body = iter(lambda: file.read(1 << 20), b"")
        append(session, store, upload=upload, offset=0, body=body, settings=settings, now=now)
    return upload


# -- for the ingest pipeline ----------------------------------------------------------------


def get_upload(session: Session, upload_id: str) -> Upload:
    """The upload with this id, whoever owns it (the pipeline works for every user)."""
    upload = session.get(Upload, upload_id)
    if upload is None:
        raise NotFound(f"no upload {upload_id!r}", field="upload_id")
    return upload


def open_upload(session: Session, store: ObjectStore, upload_id: str) -> BinaryIO:
    """The complete upload's bytes as one readable, non-seekable stream (its chunks in order,
    each checked for its recorded size and sha256; one chunk's read open at a time). Close
    it."""
    return open_chunks(store, upload_chunks(session, upload_id))


def upload_chunks(session: Session, upload_id: str) -> list[ChunkRef]:
    """The staged chunks of a complete upload, in order: the objects that hold its bytes."""
    upload = get_upload(session, upload_id)
    if upload.state is not UploadState.complete:
        raise Conflict(f"upload {upload_id!r} is {upload.state.value}, not complete")
    return [ChunkRef(c.key, c.size, c.sha256) for c in _chunks(session, upload.id)]


def delete_upload(session: Session, store: ObjectStore, upload_id: str) -> None:
    """Remove an upload and its bytes once the pipeline has what it needs."""
    terminate(session, store, upload=get_upload(session, upload_id))
