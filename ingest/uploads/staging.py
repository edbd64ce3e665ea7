"""Upload bytes in the object store: one object per chunk (PATCH body) under
``staging/{upload_id}/chunks/``, written as a stream and read back as one stream.

Nothing here touches the database; ``service`` records what these functions stored.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import itertools
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

from catalog.storage.base import ObjectNotFound, ObjectStore, StoreError
from ingest.uploads.errors import BadRequest, ChecksumMismatch, PayloadTooLarge

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer

# Upload-Checksum algorithms; tus requires sha1, and sha256 is what the catalog records.
CHECKSUM_ALGORITHMS: dict[str, Callable[[], hashlib._Hash]] = {
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
}
STAGING = "staging/"
_READ_BUFFER = 1 << 20


class BodyInterrupted(Exception):
    """The client stopped sending before its body ended (dropped connection, idle timeout)."""


@dataclass(frozen=True)
class Checksum:
    """An ``Upload-Checksum`` header: ``sha1 <base64 digest>``."""

    algorithm: str
    digest: bytes

    @classmethod
    def parse(cls, header: str) -> Checksum:
        algorithm, _, encoded = header.strip().partition(" ")
        factory = CHECKSUM_ALGORITHMS.get(algorithm)
        if factory is None:
            raise BadRequest(
                f"checksum algorithm {algorithm!r} is not supported; use one of "
                + ", ".join(CHECKSUM_ALGORITHMS),
                field="Upload-Checksum",
            )
        try:
            digest = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            digest = b""
        if len(digest) != factory().digest_size:
            raise BadRequest(
                f"Upload-Checksum is not a base64 {algorithm} digest", field="Upload-Checksum"
            )
        return cls(algorithm, digest)


@dataclass(frozen=True)
class StoredChunk:
    key: str
    size: int
    sha256: str
    interrupted: bool  # the client went away; these are the bytes that arrived


def chunk_prefix(upload_id: str) -> str:
    return f"{STAGING}{upload_id}/chunks/"


def chunk_key(upload_id: str, start: int) -> str:
    # Zero-padded so keys sort by offset; the random suffix keeps two racing PATCHes at the
    # same offset from writing the same object (only one of them will be recorded).
    return f"{chunk_prefix(upload_id)}{start:020d}-{secrets.token_hex(4)}"


def upload_id_of(key: str) -> str | None:
    """The upload a chunk key belongs to, or None for other keys under ``staging/``."""
    parts = key.split("/")
    if len(parts) == 4 and parts[0] == STAGING.rstrip("/") and parts[2] == "chunks":
        return parts[1]
    return None


class _Meter:
    """Passes a body through, counting and hashing it, refusing bytes beyond ``limit``.

    An interruption ends the iteration quietly when ``keep_partial``, so the store commits
    what arrived (tus: keep as much as possible); otherwise it propagates and the store
    discards the object.
    """

    def __init__(
        self,
        body: Iterable[bytes],
        *,
        limit: int,
        keep_partial: bool,
        algorithm: str | None,
        running: hashlib._Hash | None,
    ) -> None:
        self._body = body
        self._limit = limit
        self._keep_partial = keep_partial
        self.size = 0
        self.sha256 = hashlib.sha256()
        # A sha256 Upload-Checksum is the chunk's own sha256: one hash, not two.
        self.checksum = (
            self.sha256
            if algorithm == "sha256"
            else CHECKSUM_ALGORITHMS[algorithm]()
            if algorithm
            else None
        )
        self.running = running
        self.interrupted = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            for data in self._body:
                if not data:
                    continue
                if self.size + len(data) > self._limit:
                    raise PayloadTooLarge(
                        f"the body goes past the upload's end: at most {self._limit} more "
                        "bytes are allowed; nothing of this request was stored",
                        field="body",
                    )
                self.size += len(data)
                self.sha256.update(data)
                if self.checksum is not None and self.checksum is not self.sha256:
                    self.checksum.update(data)
                if self.running is not None:
                    self.running.update(data)
                yield data
        except BodyInterrupted:
            self.interrupted = True
            if not self._keep_partial:
                raise


def write_chunk(
    store: ObjectStore,
    key: str,
    body: Iterable[bytes],
    *,
    limit: int,
    checksum: Checksum | None = None,
    running: hashlib._Hash | None = None,
) -> StoredChunk | None:
    """Stream ``body`` into one object at ``key``; None when no byte was stored.

    ``running`` (the upload's sha256 so far) is updated with exactly the bytes stored; it is
    only meaningful if a chunk is returned.

    Memory stays bounded: the store pulls the body as it writes (a file, or S3 parts).
    More than ``limit`` bytes is a PayloadTooLarge and nothing is stored. With a
    ``checksum``, an interrupted body is discarded and a mismatch deletes the object
    (ChecksumMismatch): a chunk that cannot be verified is not kept.
    """
    meter = _Meter(
        body,
        limit=limit,
        keep_partial=checksum is None,
        algorithm=checksum.algorithm if checksum else None,
        running=running,
    )
    chunks = iter(meter)
    try:
        # Read ahead one piece, so an empty body (or one that broke off at once) creates no
        # object at all.
        first = next(chunks, None)
        if first is None:
            return None
        store.put(key, itertools.chain([first], chunks))
    except BodyInterrupted:
        return None  # only with a checksum: the store dropped the partial object
    if meter.checksum is not None and checksum is not None:
        if meter.checksum.digest() != checksum.digest:
            store.delete(key)
            raise ChecksumMismatch(
                f"the body's {checksum.algorithm} does not match Upload-Checksum; "
                "it was discarded and the offset is unchanged",
                field="Upload-Checksum",
            )
    return StoredChunk(
        key=key, size=meter.size, sha256=meter.sha256.hexdigest(), interrupted=meter.interrupted
    )


@dataclass(frozen=True)
class ChunkRef:
    key: str
    size: int
    sha256: str


def digest_chunks(store: ObjectStore, chunks: Sequence[ChunkRef]) -> str:
    """The sha256 of the concatenated chunks, checking each against its record on the way.

    For completing an upload whose earlier chunks another process received (see
    ``running``): only then is the whole file read once more for its sha256.
    """
    whole = hashlib.sha256()
    for chunk in chunks:
        for data in _read_exactly(store, chunk):
            whole.update(data)
    return whole.hexdigest()


def verify_chunks(store: ObjectStore, chunks: Sequence[ChunkRef]) -> None:
    """Check that each chunk holds the bytes recorded for it (StoreError if not), reading
    only those this process has not already checked while reading them for another reason
    (the pipeline's normalise step reads every chunk through ``open_chunks``)."""
    for chunk in chunks:
        if not _VERIFIED.holds(chunk):
            for _ in _read_exactly(store, chunk):
                pass


def is_verified(chunk: ChunkRef) -> bool:
    """Whether this process has read ``chunk`` whole and found its recorded bytes."""
    return _VERIFIED.holds(chunk)


class _Verified:
    """Chunks this process has read whole and found to hold their recorded bytes.

    Chunk keys are unique and a chunk is never rewritten, so a check stays true for the
    chunk's life; bounded, oldest forgotten first (a forgotten chunk is read again).
    """

    def __init__(self, capacity: int = 16384) -> None:
        self._capacity = capacity
        self._chunks: OrderedDict[tuple[str, int, str], None] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, chunk: ChunkRef) -> None:
        with self._lock:
            self._chunks[(chunk.key, chunk.size, chunk.sha256)] = None
            self._chunks.move_to_end((chunk.key, chunk.size, chunk.sha256))
            while len(self._chunks) > self._capacity:
                self._chunks.popitem(last=False)

    def holds(self, chunk: ChunkRef) -> bool:
        with self._lock:
            return (chunk.key, chunk.size, chunk.sha256) in self._chunks


_VERIFIED = _Verified()


def _read_exactly(store: ObjectStore, chunk: ChunkRef) -> Iterator[bytes]:
    """The chunk's bytes; StoreError unless they are its recorded size and sha256 (checked
    at its end, so a reader that stops early learns nothing of the bytes it skipped)."""
    seen = 0
    digest = hashlib.sha256()
    try:
        pieces = store.get(chunk.key)
    except ObjectNotFound:
        raise StoreError(f"chunk {chunk.key!r} is missing from the store") from None
    try:
        for data in pieces:
            seen += len(data)
            if seen > chunk.size:
                break
            digest.update(data)
            yield data
    finally:
        close = getattr(pieces, "close", None)
        if callable(close):
            close()  # an S3 response goes back to the pool however the reading ends
    if seen != chunk.size:
        raise StoreError(f"chunk {chunk.key!r} holds {seen} bytes, not {chunk.size}")
    if digest.hexdigest() != chunk.sha256:
        raise StoreError(f"chunk {chunk.key!r} does not hold the bytes that were received")
    _VERIFIED.add(chunk)


class ChunkReader(io.RawIOBase):
    """A readable, non-seekable stream over chunks in order; one store read open at a time.

    ``chunks`` may be lazy: ``follow`` passes a generator that waits for chunks still to come.
    """

    def __init__(self, store: ObjectStore, chunks: Iterable[ChunkRef]) -> None:
        super().__init__()
        self._store = store
        self._chunks = iter(chunks)
        self._current: Iterator[bytes] | None = None
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        while not self._pending:
            if not self._next_piece():
                return 0
        target = memoryview(buffer).cast("B")
        size = min(len(target), len(self._pending))
        target[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def write(self, _data: ReadableBuffer) -> int:
        raise io.UnsupportedOperation("upload streams are read-only")

    def _next_piece(self) -> bool:
        while True:
            if self._current is None:
                chunk = next(self._chunks, None)
                if chunk is None:
                    return False
                self._current = _read_exactly(self._store, chunk)
            data = next(self._current, None)
            if data is not None:
                self._pending = memoryview(data)
                return True
            self._current = None

    def close(self) -> None:
        if self._current is not None:
            close = getattr(self._current, "close", None)
            if callable(close):
                close()  # releases an S3 connection held by a half-read chunk
            self._current = None
        super().close()


def open_chunks(store: ObjectStore, chunks: Iterable[ChunkRef]) -> BinaryIO:
    return io.BufferedReader(ChunkReader(store, chunks), buffer_size=_READ_BUFFER)


def delete_staged(store: ObjectStore, upload_id: str) -> int:
    """Delete every object under the upload's chunk prefix, recorded or not."""
    deleted = 0
    for info in list(store.list(chunk_prefix(upload_id))):
        store.delete(info.key)
        deleted += 1
    return deleted


def ensure_empty(body: Iterable[bytes]) -> None:
    """Refuse any byte: for a PATCH to an upload that already has all of its bytes."""
    for data in body:
        if data:
            raise PayloadTooLarge(
                "the upload already has all of its bytes; nothing was stored", field="body"
            )
