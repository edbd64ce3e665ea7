"""Storing each upload's original under the version's prefix, early: while the job still
normalises.

The original is composed inside the store from the upload's staged chunks
(``ObjectStore.compose``). That is a copy the store makes (on S3, UploadPartCopy), about 10 s
per GB on SeaweedFS, and it needs nothing that normalising produces except the upload's
media type, known from the file's head. So a background thread composes it as soon as

- the upload is complete (every byte in, its sha256 taken), and
- normalising has read every chunk, and so checked each against the sha256 recorded when it
  arrived (a chunk not read yet would be read a second time just to check it), or
  normalising of this upload has ended (a reader may stop before the end of the file; the
  chunks it did not read are then read and checked here);

and the store step only collects the result. The copy then runs while the worker computes
the column statistics, instead of after them.

Nothing changes for publishing: the object is written under the draft version's prefix, as
the store step wrote it before, and is visible only once the version is published. A job
that fails or is taken over stops the thread and waits for a compose in flight
(:meth:`EarlyOriginals.close`), so no object is written after the job has ended.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from types import TracebackType

from sqlalchemy.orm import Session, sessionmaker

from catalog.storage.base import ObjectStore, StoreError
from ingest.uploads.models import Upload, UploadState
from ingest.uploads.service import upload_chunks
from ingest.uploads.staging import ChunkRef, is_verified, verify_chunks

log = logging.getLogger(__name__)
POLL_SECONDS = 0.2


@dataclass(frozen=True)
class StoredOriginal:
    key: str  # under the version's prefix
    size: int
    sha256: str
    media_type: str


def store_original(
    factory: sessionmaker[Session],
    store: ObjectStore,
    prefix: str,
    upload_id: str,
    filename: str,
    media_type: str,
) -> StoredOriginal:
    """Compose the complete upload's chunks into ``prefix`` + ``original/filename``."""
    with factory() as session:
        chunks = upload_chunks(session, upload_id)
        upload = session.get_one(Upload, upload_id)
        size, sha256 = upload.length or 0, upload.sha256 or ""
    key = f"original/{filename}"
    # The upload's sha256 is that of the bytes received, and each chunk was hashed as it
    # arrived; a chunk whose bytes were checked against that record (normalise read it) is
    # composed as it is, any other is read and checked first.
    verify_chunks(store, chunks)
    if chunks:
        info = store.compose(
            [c.key for c in chunks], prefix + key, content_type=media_type, sha256=sha256
        )
    else:
        info = store.put(prefix + key, [], length=0, content_type=media_type, sha256=sha256)
    if not sha256 or (info.size, info.sha256) != (size, sha256):
        raise StoreError(
            f"the original {key!r} was stored as {info.size} bytes with sha256 {info.sha256}, "
            f"not the upload's {size} bytes with sha256 {sha256 or '(none)'}"
        )
    return StoredOriginal(key, size, sha256, media_type)


class EarlyOriginals:
    """Composes the originals of a job's uploads, in order, on one background thread.

    The pipeline tells it each upload's media type (:meth:`detected`) and when normalising
    of an upload has ended (:meth:`normalised`), and takes each result with :meth:`result`.
    Use as a context manager: leaving it stops the thread and waits for it.
    """

    def __init__(
        self,
        factory: sessionmaker[Session],
        store: ObjectStore,
        prefix: str,
        uploads: list[tuple[str, str]],  # (upload id, file name)
        *,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self._factory = factory
        self._store = store
        self._prefix = prefix
        self._uploads = uploads
        self._poll_seconds = poll_seconds
        self._media_types: dict[str, str] = {}
        self._ended: set[str] = set()
        self._results: dict[str, Future[StoredOriginal]] = {u: Future() for u, _ in uploads}
        self._changed = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="early-originals", daemon=True)

    def __enter__(self) -> EarlyOriginals:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def detected(self, upload_id: str, media_type: str) -> None:
        """Normalising found the upload's media type (the first one found counts)."""
        with self._changed:
            self._media_types.setdefault(upload_id, media_type)
            self._changed.notify_all()

    def normalised(self, upload_id: str) -> None:
        """Normalising of this upload has ended and the upload is complete: compose now."""
        with self._changed:
            self._ended.add(upload_id)
            self._changed.notify_all()

    def result(self, upload_id: str, media_type: str) -> StoredOriginal:
        """The composed original; raises what composing raised. An original the thread did
        not compose (normalising never named a media type), or composed under another media
        type than normalising's final word (it should not be), is composed here."""
        self.normalised(upload_id)
        try:
            stored: StoredOriginal | None = self._results[upload_id].result()
        except _Stopped:
            stored = None
        if stored is None or stored.media_type != media_type:
            filename = dict(self._uploads)[upload_id]
            stored = store_original(
                self._factory, self._store, self._prefix, upload_id, filename, media_type
            )
        return stored

    def close(self) -> None:
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        for upload_id, filename in self._uploads:
            future = self._results[upload_id]
            try:
                media_type = self._wait_until_ready(upload_id)
                if media_type is None:
                    future.set_exception(_Stopped())
                    continue  # result() composes it, if it is still wanted
                future.set_result(
                    store_original(
                        self._factory, self._store, self._prefix, upload_id, filename, media_type
                    )
                )
            except BaseException as exc:  # handed to the pipeline, which decides
                future.set_exception(exc)

    def _wait_until_ready(self, upload_id: str) -> str | None:
        """The media type to compose with, once the upload may be composed; None if the job
        stops first, or normalising ended without naming one."""
        chunks: list[ChunkRef] | None = None
        while True:
            with self._changed:
                if self._stopping:
                    return None
                ended = upload_id in self._ended
                media_type = self._media_types.get(upload_id)
            if ended:
                return media_type
            if media_type is not None:
                chunks = chunks or self._chunks_if_complete(upload_id)
                if chunks is not None and all(is_verified(c) for c in chunks):
                    return media_type
            with self._changed:
                if not self._stopping and upload_id not in self._ended:
                    self._changed.wait(self._poll_seconds)

    def _chunks_if_complete(self, upload_id: str) -> list[ChunkRef] | None:
        """The upload's chunks once it is complete (they do not change after)."""
        with self._factory() as session:
            upload = session.get(Upload, upload_id)
            if upload is None or upload.state is not UploadState.complete:
                return None
            return upload_chunks(session, upload_id)


class _Stopped(Exception):
    """The job stopped before this original was composed."""
