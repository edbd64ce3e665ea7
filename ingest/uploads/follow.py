"""Reading an upload while it still arrives, so ingestion overlaps the transfer.

A job may be queued before its upload is complete (``datahamn ingest`` does so: it creates
the uploads, queues the job, then sends the bytes). The worker then reads the upload's
chunks in offset order as the server records them, waiting for the next one when it has
read every chunk so far, and ends once the upload is complete. Normalising a large file
thus runs during the upload instead of after it: the end-to-end time of an ingestion is
about the longer of the two, not their sum.

Every chunk is checked as it is read (``staging.ChunkReader``: its recorded size and
sha256), so a chunk changed or replaced in the store fails the job instead of being
ingested.

A client that stops sending for ``STALL_SECONDS`` (it crashed, or gave up) fails the job
with ``upload-incomplete``: a worker is not held for ever by an upload that will not end.
The client can resume the upload and queue the ingestion again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from catalog.storage.base import ObjectStore, StoreError
from ingest.errors import IngestError, Location
from ingest.uploads.models import Upload, UploadChunk, UploadState
from ingest.uploads.staging import ChunkRef, open_chunks

# The tus client retries a failed PATCH with back-off for a few minutes; past this the
# client is taken to be gone. Read at call time, so a deployment (or a test) can change it.
STALL_SECONDS = 600.0
POLL_SECONDS = 0.2


def follow_upload(
    factory: sessionmaker[Session],
    store: ObjectStore,
    upload_id: str,
    *,
    filename: str | None = None,
    stall_seconds: float | None = None,
    poll_seconds: float = POLL_SECONDS,
    on_wait: Callable[[], None] | None = None,
) -> BinaryIO:
    """The upload's bytes from offset 0 as one stream, whether it is complete or still
    arriving: it waits for chunks still to come and ends once the upload is complete.
    ``on_wait`` runs while waiting (e.g. the job's lease check, so a job taken over or
    cancelled stops waiting). Close it."""
    waiter = _Waiter(factory, upload_id, filename, stall_seconds, poll_seconds, on_wait)
    return open_chunks(store, waiter.chunks())


def wait_until_complete(
    factory: sessionmaker[Session],
    upload_id: str,
    *,
    filename: str | None = None,
    stall_seconds: float | None = None,
    poll_seconds: float = POLL_SECONDS,
    on_wait: Callable[[], None] | None = None,
) -> None:
    """Wait for the upload to be complete, for a reader that stopped before its end; fails
    like :func:`follow_upload` when the upload fails, goes away, or stops arriving."""
    _Waiter(factory, upload_id, filename, stall_seconds, poll_seconds, on_wait).complete()


class _Waiter:
    def __init__(
        self,
        factory: sessionmaker[Session],
        upload_id: str,
        filename: str | None,
        stall_seconds: float | None,
        poll_seconds: float,
        on_wait: Callable[[], None] | None,
    ) -> None:
        self._factory = factory
        self._upload_id = upload_id
        self._where = Location(file=filename)
        self._stall_seconds = STALL_SECONDS if stall_seconds is None else stall_seconds
        self._poll_seconds = poll_seconds
        self._on_wait = on_wait

    def chunks(self) -> Iterator[ChunkRef]:
        """Each recorded chunk in offset order, waiting for the next; ends when complete."""
        offset = 0
        while True:
            since = time.monotonic()
            while True:
                with self._factory() as session:
                    chunk = session.scalars(
                        select(UploadChunk).where(
                            UploadChunk.upload_id == self._upload_id, UploadChunk.start == offset
                        )
                    ).first()
                    if chunk is not None:
                        break
                    upload = self._usable(session)
                    if upload.state is UploadState.complete:
                        if upload.length is not None and offset >= upload.length:
                            return  # every byte read, and the server has checked the file
                        # Complete but no chunk here: the records and the length disagree.
                        raise StoreError(
                            f"upload {self._upload_id!r} is complete but has no chunk at "
                            f"byte {offset:,}"
                        )
                # Still receiving, or every byte is in and the server is finishing: the
                # stream ends only once the upload is complete, so the steps after
                # normalising find it so.
                self._pause(since, offset)
            yield ChunkRef(chunk.key, chunk.size, chunk.sha256)
            offset += chunk.size

    def complete(self) -> None:
        seen, since = -1, time.monotonic()
        while True:
            with self._factory() as session:
                upload = self._usable(session)
                if upload.state is UploadState.complete:
                    return
                if upload.offset != seen:
                    seen, since = upload.offset, time.monotonic()
            self._pause(since, seen)

    def _usable(self, session: Session) -> Upload:
        upload = session.get(Upload, self._upload_id)
        if upload is None:
            raise self._problem("the upload was cancelled or has expired")
        if upload.state is UploadState.failed:
            raise self._problem(f"the upload failed: {upload.error}")
        return upload

    def _pause(self, since: float, offset: int) -> None:
        if time.monotonic() - since > self._stall_seconds:
            raise self._problem(
                f"no bytes arrived for {self._stall_seconds:g} s at byte {offset:,}; "
                "resume the upload and queue the ingestion again"
            )
        if self._on_wait is not None:
            self._on_wait()
        time.sleep(self._poll_seconds)

    def _problem(self, message: str) -> IngestError:
        return IngestError("upload-incomplete", message, self._where)
