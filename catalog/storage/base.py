"""The object store interface: one contract, two implementations (LocalStore, S3Store).

Keys are ``/``-separated relative paths (``datasets/org/name/v1/data/part-0.parquet``);
a key never starts with ``/``, never contains ``..`` or ``.`` segments, empty segments, NUL
or backslashes, and is at most 1024 bytes of UTF-8 (``catalog.storage.local.validate_key``).

    StoreError                      base of every store failure
     ├── ObjectNotFound             no object at that key
     ├── InvalidKey                 the key is not acceptable
     └── StoreUnavailable           the backing service cannot be reached
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, Literal, Protocol, runtime_checkable

# S3 refuses presigned URLs that live longer than a week; LocalStore keeps the same limit so
# callers see one contract.
MAX_SIGNED_URL_SECONDS = 7 * 24 * 3600


class StoreError(Exception):
    pass


class ObjectNotFound(StoreError):
    pass


class InvalidKey(StoreError):
    pass


class StoreUnavailable(StoreError):
    pass


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    etag: str
    last_modified: datetime
    content_type: str
    # The hex sha256 recorded with the object by whoever wrote it through this store (put()
    # with ``sha256=``, compose()); None when nobody did, e.g. an upload to a signed URL. It
    # lets a writer that hashed the bytes it sent check the object later with a HEAD.
    sha256: str | None = None


@runtime_checkable
class ObjectStore(Protocol):
    """What the catalog, ingestion and access packages need from object storage."""

    def put(
        self,
        key: str,
        data: BinaryIO | Iterable[bytes],
        *,
        length: int | None = None,
        content_type: str = "application/octet-stream",
        sha256: str | None = None,
    ) -> ObjectInfo:
        """Stream ``data`` to ``key`` without holding it in memory (multipart when large).

        A ``length`` or a hex ``sha256`` that the data does not match is a ValueError, and
        nothing is stored. A ``sha256`` that matches is recorded with the object (head()).
        """
        ...

    def get(
        self, key: str, *, start: int = 0, end: int | None = None, chunk_size: int = 1 << 20
    ) -> Iterator[bytes]:
        """Stream bytes ``start..end`` (``end`` inclusive, as in HTTP Range) of ``key``.

        An ``end`` past the object is cut to its last byte; a ``start`` at or past the end
        (except 0 with no ``end``, the whole of an empty object) is a ValueError.
        """
        ...

    def head(self, key: str) -> ObjectInfo: ...

    def exists(self, key: str) -> bool: ...

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object whose key starts with ``prefix``, in key order.

        ``content_type`` may be ``""`` here: S3 listings do not carry it; head() does.
        """
        ...

    def copy(self, source: str, target: str) -> ObjectInfo: ...

    def compose(
        self,
        sources: Sequence[str],
        target: str,
        *,
        content_type: str = "application/octet-stream",
        sha256: str | None = None,
    ) -> ObjectInfo:
        """Make ``target`` the concatenation of the objects ``sources``, in order, inside the
        store where it can (S3 multipart copy, a local file-range copy or hard link) rather
        than through this process.

        The store does not see the bytes of a server-side compose, so ``sha256`` is recorded
        as the caller's word: pass it only for sources whose bytes the caller has verified.
        """
        ...

    def delete(self, key: str) -> None:
        """Remove ``key``; deleting an absent key is not an error."""
        ...

    def signed_url(
        self, key: str, *, method: Literal["GET", "PUT"] = "GET", expires_in: int = 3600
    ) -> str:
        """A URL that lets anyone holding it GET (or PUT) ``key`` until it expires."""
        ...

    def check(self) -> None:
        """Raise StoreUnavailable when the store cannot be reached (for /readyz)."""
        ...
