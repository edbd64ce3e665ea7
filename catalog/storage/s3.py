"""S3Store: objects in an S3 bucket (AWS, MinIO, SeaweedFS, …) through the ``minio`` SDK.

Signed URLs are the server's own presigned URLs, so S3 serves the bytes and the service never
relays them.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import secrets
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import BinaryIO, Literal

import urllib3
from minio import Minio
from minio.commonconfig import ComposeSource, CopySource
from minio.error import InvalidResponseError, S3Error, ServerError

from catalog.storage.base import (
    MAX_SIGNED_URL_SECONDS,
    InvalidKey,
    ObjectInfo,
    ObjectNotFound,
    StoreError,
    StoreUnavailable,
)
from catalog.storage.keys import validate_key, validate_prefix
from catalog.storage.s3_parts import plan_parts
from catalog.storage.streams import iter_source

__all__ = ["DEFAULT_PART_SIZE", "S3Store"]

# Parts are held in memory while they upload (minio runs three at a time), so this bounds
# a put()'s memory; 16 MiB parts still reach S3's 5 TiB object limit well inside 10,000 parts.
DEFAULT_PART_SIZE = 16 << 20
# Errors that mean the store as a whole is unusable, rather than one request was wrong.
# User metadata as head() reads it back (minio sends it as ``x-amz-meta-sha256``).
_SHA256_HEADER = "x-amz-meta-sha256"
_UNAVAILABLE_CODES = frozenset(
    {"NoSuchBucket", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"}
)


class S3Store:
    """An ObjectStore on one bucket, optionally under a key prefix inside it."""

    def __init__(
        self,
        client: Minio,
        bucket: str,
        *,
        prefix: str = "",
        part_size: int = DEFAULT_PART_SIZE,
    ) -> None:
        prefix = prefix.strip("/")
        if prefix:
            validate_key(prefix)
        self.client = client
        self.bucket = bucket
        self.prefix = f"{prefix}/" if prefix else ""
        self.part_size = part_size

    def __repr__(self) -> str:
        return f"S3Store(bucket={self.bucket!r}, prefix={self.prefix!r})"

    def put(
        self,
        key: str,
        data: BinaryIO | Iterable[bytes],
        *,
        length: int | None = None,
        content_type: str = "application/octet-stream",
        sha256: str | None = None,
    ) -> ObjectInfo:
        name = self._name(key)
        # Always "unknown length" to minio, so it reads to EOF and _Reader can refuse a stream
        # longer or shorter than ``length`` (or not hashing to ``sha256``) before the upload
        # completes; told a length, minio would silently stop reading there.
        reader = _Reader(iter_source(data), length, sha256)
        with _translated(key):
            self.client.put_object(
                self.bucket,
                name,
                reader,  # type: ignore[arg-type]  # minio only calls read()
                -1,
                content_type=content_type,
                part_size=self.part_size,
                metadata=_digest_metadata(sha256),
            )
        return self.head(key)

    def get(
        self, key: str, *, start: int = 0, end: int | None = None, chunk_size: int = 1 << 20
    ) -> Iterator[bytes]:
        name = self._name(key)
        if start < 0:
            raise ValueError(f"range start {start} is negative")
        if end is not None and end < start:
            raise ValueError(f"range end {end} is before its start {start}")
        if chunk_size < 1:
            raise ValueError("chunk_size must be positive")
        length = 0 if end is None else end - start + 1  # 0: to the end, in minio's terms
        with _translated(key):
            response = self.client.get_object(self.bucket, name, offset=start, length=length)
        return _Body(response, key, chunk_size)

    def head(self, key: str) -> ObjectInfo:
        name = self._name(key)
        with _translated(key):
            stat = self.client.stat_object(self.bucket, name)
        if stat.is_dir:
            raise ObjectNotFound(key)
        return ObjectInfo(
            key=key,
            size=stat.size or 0,
            etag=(stat.etag or "").strip('"'),
            last_modified=stat.last_modified or datetime.now(UTC),
            content_type=stat.content_type or "application/octet-stream",
            sha256=(stat.metadata or {}).get(_SHA256_HEADER),
        )

    def exists(self, key: str) -> bool:
        try:
            self.head(key)
        except ObjectNotFound:
            return False
        return True

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        validate_prefix(prefix)
        with _translated(prefix):
            # Sorted here because the contract promises key order and not every S3-compatible
            # server keeps it: SeaweedFS lists directory by directory ("a/b" before "a.txt").
            objects = sorted(
                (
                    obj
                    for obj in self.client.list_objects(
                        self.bucket, prefix=self.prefix + prefix, recursive=True
                    )
                    if not obj.is_dir and obj.object_name is not None
                ),
                key=lambda obj: obj.object_name or "",
            )
        for obj in objects:
            yield ObjectInfo(
                key=(obj.object_name or "")[len(self.prefix) :],
                size=obj.size or 0,
                etag=(obj.etag or "").strip('"'),
                last_modified=obj.last_modified or datetime.now(UTC),
                # S3 listings do not carry the content type; head() has it.
                content_type="",
            )

    def copy(self, source: str, target: str) -> ObjectInfo:
        source_name, target_name = self._name(source), self._name(target)
        with _translated(source):
            self.client.copy_object(self.bucket, target_name, CopySource(self.bucket, source_name))
        return self.head(target)

    def compose(
        self,
        sources: Sequence[str],
        target: str,
        *,
        content_type: str = "application/octet-stream",
        sha256: str | None = None,
    ) -> ObjectInfo:
        if not sources:
            raise ValueError("compose() needs at least one source")
        sizes = [self.head(source).size for source in sources]
        plan = plan_parts(sizes)
        if plan is None or not plan:
            # Not expressible as a multipart copy (too many parts), or empty: through here.
            return self.put(
                target,
                itertools.chain.from_iterable(self.get(source) for source in sources),
                length=sum(sizes),
                content_type=content_type,
                sha256=sha256,  # checked here, as the bytes pass
            )
        metadata: dict[str, str | list[str] | tuple[str]] = {"Content-Type": content_type}
        metadata.update(_digest_metadata(sha256) or {})
        temporary: list[str] = []
        try:
            parts = []
            for ranges in plan:
                if len(ranges) == 1:
                    index, start, end = ranges[0]
                    whole = (start, end) == (0, sizes[index])
                    parts.append(
                        ComposeSource(
                            self.bucket,
                            self._name(sources[index]),
                            offset=None if whole else start,
                            length=None if whole else end - start,
                        )
                    )
                    continue
                # Short sources (interrupted tus PATCHes) joined into one part of at least
                # S3's 5 MiB minimum: these few MiB pass through this process.
                key = f"{target}.compose-{secrets.token_hex(4)}-{len(temporary)}"
                temporary.append(key)
                self.put(
                    key,
                    itertools.chain.from_iterable(
                        self.get(sources[index], start=start, end=end - 1)
                        for index, start, end in ranges
                        if end > start  # an empty last source adds nothing
                    ),
                    length=sum(end - start for _, start, end in ranges),
                )
                parts.append(ComposeSource(self.bucket, self._name(key)))
            with _translated(target):
                # A multipart upload whose parts are copied inside the server (UploadPartCopy;
                # a source over 5 GiB is split into ranges), or one CopyObject for one part.
                self.client.compose_object(
                    self.bucket, self._name(target), parts, metadata=metadata
                )
        finally:
            for key in temporary:
                self.delete(key)
        return self.head(target)

    def delete(self, key: str) -> None:
        name = self._name(key)
        with _translated(key):
            self.client.remove_object(self.bucket, name)

    def signed_url(
        self, key: str, *, method: Literal["GET", "PUT"] = "GET", expires_in: int = 3600
    ) -> str:
        name = self._name(key)
        if not 1 <= expires_in <= MAX_SIGNED_URL_SECONDS:
            raise ValueError(f"expires_in must be 1..{MAX_SIGNED_URL_SECONDS} seconds")
        expires = timedelta(seconds=expires_in)
        with _translated(key):
            if method == "GET":
                return self.client.presigned_get_object(self.bucket, name, expires=expires)
            if method == "PUT":
                return self.client.presigned_put_object(self.bucket, name, expires=expires)
        raise ValueError(f"signed URLs are for GET or PUT, not {method!r}")

    def check(self) -> None:
        with _translated(""):
            exists = self.client.bucket_exists(self.bucket)
        if not exists:
            raise StoreUnavailable(f"bucket {self.bucket!r} does not exist")

    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist yet."""
        with _translated(""):
            if self.client.bucket_exists(self.bucket):
                return
            try:
                self.client.make_bucket(self.bucket)
            except S3Error as exc:
                # Another process (a second worker starting) created it first.
                if exc.code != "BucketAlreadyOwnedByYou":
                    raise

    def _name(self, key: str) -> str:
        return self.prefix + validate_key(key)


@contextlib.contextmanager
def _translated(key: str) -> Iterator[None]:
    """Turn minio's and urllib3's errors into the store's own."""
    try:
        yield
    except S3Error as exc:
        if exc.code in {"NoSuchKey", "NoSuchObject"}:
            raise ObjectNotFound(key) from exc
        if exc.code == "InvalidRange":
            raise ValueError(f"the range is past the end of {key!r}") from exc
        if exc.code in {"InvalidObjectName", "KeyTooLongError"}:
            raise InvalidKey(f"the S3 server refused key {key!r}: {exc.message}") from exc
        if exc.code in _UNAVAILABLE_CODES:
            raise StoreUnavailable(f"S3 {exc.code}: {exc.message}") from exc
        raise StoreError(f"S3 {exc.code} on {key!r}: {exc.message}") from exc
    except (ServerError, InvalidResponseError, urllib3.exceptions.HTTPError) as exc:
        raise StoreUnavailable(f"S3 server unreachable or failing: {exc}") from exc


def _digest_metadata(sha256: str | None) -> dict[str, str | list[str] | tuple[str]] | None:
    return {"sha256": sha256} if sha256 is not None else None


class _Reader:
    """A read()-able view of an iterator of chunks, for minio's put_object.

    It refuses, before the last part is sent, a stream whose size differs from the announced
    ``length`` or whose sha256 is not the announced ``sha256``, so a short, long or wrong
    upload fails instead of storing the wrong object.
    """

    def __init__(
        self, chunks: Iterator[bytes], length: int | None, sha256: str | None = None
    ) -> None:
        self._chunks = chunks
        self._length = length
        self._sha256 = sha256
        self._digest = hashlib.sha256() if sha256 is not None else None
        self._pending = b""
        self._seen = 0
        self._eof = False

    def read(self, size: int = -1) -> bytes:
        # One join per call, because minio appends what read() returns to its part buffer
        # with +=; many small returns would copy the part over and over.
        parts = [self._pending] if self._pending else []
        have = len(self._pending)
        self._pending = b""
        while not self._eof and (size < 0 or have < size):
            chunk = next(self._chunks, None)
            if chunk is None:
                self._eof = True
                if self._length is not None and self._seen != self._length:
                    raise ValueError(
                        f"put() got {self._seen} bytes, not the {self._length} announced"
                    )
                if self._digest is not None and self._digest.hexdigest() != self._sha256:
                    raise ValueError(
                        f"put() got bytes whose sha256 is not the {self._sha256} announced"
                    )
                break
            if self._digest is not None:
                self._digest.update(chunk)
            self._seen += len(chunk)
            if self._length is not None and self._seen > self._length:
                raise ValueError(f"put() got more than the {self._length} bytes announced")
            parts.append(chunk)
            have += len(chunk)
        data = b"".join(parts)
        if 0 <= size < len(data):
            data, self._pending = data[:size], data[size:]
        return data


class _Body(Iterator[bytes]):
    """The chunks of a GET response; returns the connection to the pool however it ends.

    A class rather than a generator so that close() releases the connection even when the
    caller drops the iterator before the first chunk.
    """

    def __init__(self, response: urllib3.BaseHTTPResponse, key: str, chunk_size: int) -> None:
        self._response: urllib3.BaseHTTPResponse | None = response
        self._chunks = response.stream(chunk_size)
        self._key = key

    def __iter__(self) -> _Body:
        return self

    def __next__(self) -> bytes:
        if self._response is None:
            raise StopIteration
        try:
            return next(self._chunks)
        except StopIteration:
            self.close()
            raise
        except urllib3.exceptions.HTTPError as exc:
            self.close()
            raise StoreUnavailable(f"S3 connection lost while reading {self._key!r}") from exc

    def close(self) -> None:
        response, self._response = self._response, None
        if response is not None:
            response.close()
            response.release_conn()

    def __del__(self) -> None:
        self.close()
