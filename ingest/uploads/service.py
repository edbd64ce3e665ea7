"""Uploads as plain functions over a session and a store: create, list, terminate, and what
the ingest pipeline reads (get_upload, open_upload, delete_upload). Receiving the bytes
(append, finish_upload) is :mod:`ingest.uploads.receiving`.

Unlike most catalog services these commit: a chunk must be recorded before it is answered
for, and no transaction may stay open while a body streams in (minutes, on a slow link).
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.errors import Conflict, InvalidInput, NotFound
from catalog.models import Organisation, utcnow
from catalog.principal import Principal, denied
from catalog.settings import Settings
from catalog.storage.base import ObjectStore, StoreError
from ingest.uploads.errors import Gone, PayloadTooLarge
from ingest.uploads.metadata import UploadTarget
from ingest.uploads.models import Upload, UploadState
from ingest.uploads.receiving import append, finish_upload, recorded_chunks
from ingest.uploads.running import RUNNING
from ingest.uploads.staging import ChunkRef, delete_staged, open_chunks

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
    return [ChunkRef(c.key, c.size, c.sha256) for c in recorded_chunks(session, upload.id)]


def delete_upload(session: Session, store: ObjectStore, upload_id: str) -> None:
    """Remove an upload and its bytes once the pipeline has what it needs."""
    terminate(session, store, upload=get_upload(session, upload_id))
