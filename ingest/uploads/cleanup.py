"""Expiry: abandoned uploads, complete uploads past their retention, and stray chunk objects.

Run ``expire_uploads`` every few minutes from one place (the worker's loop); it is safe to
run from several at once, each row is deleted by exactly one of them.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.orm import Session

from catalog.storage.base import ObjectInfo, ObjectStore, StoreError
from ingest.uploads.models import Upload, UploadChunk
from ingest.uploads.staging import STAGING, delete_staged, upload_id_of

log = logging.getLogger(__name__)
# An object written by a PATCH is recorded a moment later; one this old and unrecorded is a
# leftover (a crash between the two, a failed delete), never a PATCH in progress.
ORPHAN_GRACE = timedelta(hours=1)
_BATCH = 100


def expire_uploads(
    session: Session,
    store: ObjectStore,
    *,
    now: datetime,
    orphan_grace: timedelta = ORPHAN_GRACE,
    sweep: bool = True,
) -> int:
    """Delete every upload whose ``expires_at`` has passed, rows then objects; with ``sweep``,
    also chunk objects that no row records. Returns the number of uploads deleted."""
    removed = 0
    while True:
        ids = list(
            session.scalars(
                select(Upload.id)
                .where(Upload.expires_at <= now)
                .order_by(Upload.expires_at)
                .limit(_BATCH)
            )
        )
        gone = [upload_id for upload_id in ids if _delete_row(session, upload_id, now)]
        for upload_id in gone:
            try:
                delete_staged(store, upload_id)
            except StoreError as exc:
                log.warning("upload %s: chunks left for the next sweep: %s", upload_id, exc)
        removed += len(gone)
        if len(ids) < _BATCH:
            break
    if sweep:
        swept = sweep_orphans(session, store, older_than=now - orphan_grace)
        if swept:
            log.info("deleted %d unrecorded chunk objects", swept)
    if removed:
        log.info("expired %d uploads", removed)
    return removed


def _delete_row(session: Session, upload_id: str, now: datetime) -> bool:
    # The condition is checked again: a PATCH may have refreshed the expiry since the select,
    # and then neither the row nor its objects may go.
    statement = delete(Upload).where(Upload.id == upload_id, Upload.expires_at <= now)
    result = cast(CursorResult[Any], session.execute(statement))
    session.commit()
    return result.rowcount == 1


def sweep_orphans(session: Session, store: ObjectStore, *, older_than: datetime) -> int:
    """Delete chunk objects older than ``older_than`` that no upload_chunks row records."""
    candidates: dict[str, list[ObjectInfo]] = {}
    for info in store.list(STAGING):
        upload_id = upload_id_of(info.key)
        if upload_id is not None and info.last_modified < older_than:
            candidates.setdefault(upload_id, []).append(info)
    deleted = 0
    ids = sorted(candidates)
    for start in range(0, len(ids), _BATCH):
        batch = ids[start : start + _BATCH]
        recorded = set(
            session.scalars(select(UploadChunk.key).where(UploadChunk.upload_id.in_(batch)))
        )
        session.commit()  # a read; do not hold the transaction while deleting objects
        for upload_id in batch:
            for info in candidates[upload_id]:
                if info.key not in recorded:
                    store.delete(info.key)
                    deleted += 1
    return deleted
