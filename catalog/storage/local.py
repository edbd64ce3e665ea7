"""LocalStore: objects as files under a directory, for laptops, tests and single-host installs.

Layout under ``root``::

    objects/<key>   the bytes
    meta/<key>      JSON sidecar: etag and content type (a separate tree, so list() and
                    the object namespace never see it, and any key is allowed)
    tmp/            uploads in progress; same filesystem, so os.replace is atomic
    lock            flock()ed while a key's two files change or are read together

Unlike S3, a filesystem cannot hold both ``a`` and ``a/b``, nor a path segment longer than
255 bytes; such keys are refused with InvalidKey.

The key rules (``catalog.storage.keys``) are checked before a key becomes a path, so a bad
key can never name a file outside ``root``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import stat as stat_module
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Literal
from urllib.parse import quote, urlencode

from catalog.storage import signing
from catalog.storage.base import (
    MAX_SIGNED_URL_SECONDS,
    InvalidKey,
    ObjectInfo,
    ObjectNotFound,
    StoreError,
    StoreUnavailable,
)
from catalog.storage.files import copy_range, fsync_directory, prune_empty_parents, write_synced
from catalog.storage.keys import validate_key, validate_prefix
from catalog.storage.streams import CHUNK, FileRange, check_range, iter_source

__all__ = ["LocalStore"]

_CHUNK = CHUNK
_MAX_NAME_BYTES = 255  # NAME_MAX of ext4, xfs, btrfs, tmpfs


class LocalStore:
    """An ObjectStore on a local directory, with URLs signed for ``catalog.storage.routes``."""

    def __init__(self, root: Path, *, base_url: str, secret_key: str) -> None:
        if not secret_key:
            raise ValueError("LocalStore needs a secret key to sign its URLs")
        self.root = Path(root)
        self.base_url = base_url.rstrip("/")
        self._secret_key = secret_key
        self._objects = self.root / "objects"
        self._meta = self.root / "meta"
        self._tmp = self.root / "tmp"
        for directory in (self._objects, self._meta, self._tmp):
            directory.mkdir(parents=True, exist_ok=True)
        self._lock_path = self.root / "lock"
        self._lock_path.touch(exist_ok=True)
        self._objects_real = self._objects.resolve()
        self._meta_real = self._meta.resolve()

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"

    # -- ObjectStore -------------------------------------------------------------------------

    def put(
        self,
        key: str,
        data: BinaryIO | Iterable[bytes],
        *,
        length: int | None = None,
        content_type: str = "application/octet-stream",
        sha256: str | None = None,
    ) -> ObjectInfo:
        path, meta_path = self._paths(key)
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp, prefix="put-")
        tmp = Path(tmp_name)
        tmp_meta = tmp.with_name(tmp.name + ".meta")
        try:
            with os.fdopen(fd, "wb") as out:
                digest = hashlib.md5(usedforsecurity=False)
                # Only when declared: it is checked against the bytes written, so what head()
                # reports later is the digest of this object, not just the caller's word.
                declared = hashlib.sha256() if sha256 is not None else None
                size = 0
                for chunk in iter_source(data):
                    out.write(chunk)
                    digest.update(chunk)
                    if declared is not None:
                        declared.update(chunk)
                    size += len(chunk)
                    if length is not None and size > length:
                        raise ValueError(f"put() got more than the {length} bytes announced")
                if length is not None and size != length:
                    raise ValueError(f"put() got {size} bytes, not the {length} announced")
                if declared is not None and declared.hexdigest() != sha256:
                    raise ValueError(f"put() got bytes whose sha256 is not the {sha256} announced")
                out.flush()
                os.fsync(out.fileno())
            meta = _meta(digest.hexdigest(), content_type, sha256)
            write_synced(tmp_meta, json.dumps(meta).encode())
            return self._commit(key, tmp, tmp_meta, path, meta_path)
        finally:
            tmp.unlink(missing_ok=True)
            tmp_meta.unlink(missing_ok=True)

    def get(
        self, key: str, *, start: int = 0, end: int | None = None, chunk_size: int = _CHUNK
    ) -> Iterator[bytes]:
        info, file = self.open(key)
        try:
            last = check_range(info.size, start, end)
        except ValueError:
            file.close()
            raise
        return FileRange(file, start, last, chunk_size)

    def head(self, key: str) -> ObjectInfo:
        path, meta_path = self._paths(key)
        with self._locked(fcntl.LOCK_SH):
            return self._info(key, path, meta_path)

    def exists(self, key: str) -> bool:
        try:
            self.head(key)
        except ObjectNotFound:
            return False
        return True

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        validate_prefix(prefix)
        directory, _, name_start = prefix.rpartition("/")
        start = self._objects / directory if directory else self._objects
        if not start.resolve().is_relative_to(self._objects_real):
            return
        for key in self._walk(start, f"{directory}/" if directory else "", name_start):
            try:
                yield self.head(key)
            except ObjectNotFound:
                continue  # deleted while we walked

    def copy(self, source: str, target: str) -> ObjectInfo:
        def same(infos: Sequence[ObjectInfo]) -> dict[str, str]:
            return _meta(infos[0].etag, infos[0].content_type, infos[0].sha256)

        return self._concatenate([source], target, same)

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

        def composed(infos: Sequence[ObjectInfo]) -> dict[str, str]:
            if len(infos) == 1:
                return _meta(infos[0].etag, content_type, sha256)
            # Like S3's ETag of a multipart object: a hash of the parts' ETags, and their count.
            parts = "".join(info.etag for info in infos).encode()
            etag = f"{hashlib.md5(parts, usedforsecurity=False).hexdigest()}-{len(infos)}"
            return _meta(etag, content_type, sha256)

        return self._concatenate(sources, target, composed)

    def delete(self, key: str) -> None:
        path, meta_path = self._paths(key)
        with self._locked(fcntl.LOCK_EX):
            for file, top in ((path, self._objects), (meta_path, self._meta)):
                # A directory at the key is a prefix of other keys, not an object: nothing
                # to delete.
                with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                    file.unlink()
                prune_empty_parents(file.parent, top)

    def signed_url(
        self, key: str, *, method: Literal["GET", "PUT"] = "GET", expires_in: int = 3600
    ) -> str:
        validate_key(key)
        if method not in ("GET", "PUT"):
            raise ValueError(f"signed URLs are for GET or PUT, not {method!r}")
        if not 1 <= expires_in <= MAX_SIGNED_URL_SECONDS:
            raise ValueError(f"expires_in must be 1..{MAX_SIGNED_URL_SECONDS} seconds")
        expires = int(time.time()) + expires_in
        query = urlencode(
            {
                "method": method,
                "expires": expires,
                "signature": signing.sign(self._secret_key, method, key, expires),
            }
        )
        return f"{self.base_url}/objects/{quote(key, safe='/')}?{query}"

    def check(self) -> None:
        try:
            fd, name = tempfile.mkstemp(dir=self._tmp, prefix="check-")
            os.close(fd)
            os.unlink(name)
            for directory in (self._objects, self._meta):
                if not os.access(directory, os.R_OK | os.W_OK | os.X_OK):
                    raise PermissionError(f"{directory} is not readable and writable")
        except OSError as exc:
            raise StoreUnavailable(f"local object store at {self.root}: {exc}") from exc

    # -- for catalog.storage.routes ----------------------------------------------------------

    def open(self, key: str) -> tuple[ObjectInfo, BinaryIO]:
        """The object's info and an open file, read together so they describe the same bytes
        even if the key is overwritten meanwhile. The caller closes the file."""
        path, meta_path = self._paths(key)
        with self._locked(fcntl.LOCK_SH):
            info = self._info(key, path, meta_path)
            try:
                file = path.open("rb")
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                raise ObjectNotFound(key) from None
        return info, file

    def verify_signature(
        self, method: str, key: str, expires: str | None, signature: str | None
    ) -> None:
        """Raise ``signing.InvalidSignature`` unless this URL was signed by this store."""
        signing.verify(self._secret_key, method, key, expires, signature)

    # -- internals ---------------------------------------------------------------------------

    def _paths(self, key: str) -> tuple[Path, Path]:
        validate_key(key)
        if any(len(segment.encode()) > _MAX_NAME_BYTES for segment in key.split("/")):
            raise InvalidKey(
                f"key {key!r} has a segment longer than {_MAX_NAME_BYTES} bytes, "
                "which a local store cannot hold as a file name"
            )
        path = self._objects / key
        meta_path = self._meta / key
        # Validation already rules out "..", but a symlink planted inside root could still
        # lead out of it.
        if not path.resolve().is_relative_to(self._objects_real) or not (
            meta_path.resolve().is_relative_to(self._meta_real)
        ):
            raise InvalidKey(f"key {key!r} leads outside the store")
        return path, meta_path

    @contextlib.contextmanager
    def _locked(self, operation: int) -> Iterator[None]:
        # A fresh descriptor each time: flock() locks belong to the open file description,
        # so threads sharing one descriptor would not exclude each other.
        try:
            lock = open(self._lock_path, "rb")
        except OSError as exc:
            raise StoreUnavailable(f"local object store at {self.root}: {exc}") from exc
        with lock:
            fcntl.flock(lock.fileno(), operation)
            yield  # closing the descriptor releases the lock

    def _info(self, key: str, path: Path, meta_path: Path) -> ObjectInfo:
        try:
            stat = path.stat()
            meta = json.loads(meta_path.read_bytes())
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise ObjectNotFound(key) from None
        except ValueError as exc:
            raise StoreError(f"metadata of {key!r} is unreadable: {exc}") from exc
        if not stat_module.S_ISREG(stat.st_mode):
            raise ObjectNotFound(key)
        try:
            etag, content_type = str(meta["etag"]), str(meta["content_type"])
            sha256 = meta.get("sha256")
        except (KeyError, TypeError, AttributeError) as exc:
            raise StoreError(f"metadata of {key!r} is incomplete: {exc!r}") from exc
        return ObjectInfo(
            key=key,
            size=stat.st_size,
            etag=etag,
            last_modified=datetime.fromtimestamp(stat.st_mtime, tz=UTC),
            content_type=content_type,
            sha256=str(sha256) if sha256 is not None else None,
        )

    def _commit(
        self, key: str, tmp: Path, tmp_meta: Path, path: Path, meta_path: Path
    ) -> ObjectInfo:
        # Under the lock, so that head() never pairs new bytes with old metadata and delete()
        # cannot prune a directory between our makedirs and our rename. The info is read
        # under it too: a put() reports its own object, not a concurrent writer's.
        with self._locked(fcntl.LOCK_EX):
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                meta_path.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp, path)
            except (FileExistsError, NotADirectoryError, IsADirectoryError) as exc:
                prune_empty_parents(path.parent, self._objects)
                prune_empty_parents(meta_path.parent, self._meta)
                # A filesystem cannot hold both "a" and "a/b"; S3 can.
                raise InvalidKey(
                    f"key {key!r} clashes with an existing key: on a local store one key "
                    "cannot be a directory prefix of another"
                ) from exc
            os.replace(tmp_meta, meta_path)
            info = self._info(key, path, meta_path)
        for directory in (path.parent, meta_path.parent):
            fsync_directory(directory)
        return info

    def _concatenate(
        self,
        sources: Sequence[str],
        target: str,
        describe: Callable[[Sequence[ObjectInfo]], dict[str, str]],
    ) -> ObjectInfo:
        """``target`` as the bytes of ``sources``: a hard link to a single source, else a
        copy made by the kernel (copy_file_range; a reflink where the filesystem has them).
        Its metadata is ``describe`` of the sources' infos, each read with its bytes.

        A link is safe because no object file is ever changed in place: put() and this
        write a new file and rename it over the key, and delete() unlinks.
        """
        path, meta_path = self._paths(target)
        tmp = self._tmp / f"copy-{secrets.token_hex(8)}"
        tmp_meta = tmp.with_name(tmp.name + ".meta")
        try:
            linked = self._link(sources[0], tmp) if len(sources) == 1 else None
            infos = [linked] if linked is not None else []
            if linked is None:
                # Unbuffered: copy_file_range writes at the descriptor's own offset.
                with open(tmp, "xb", buffering=0) as out:
                    for source in sources:
                        info, file = self.open(source)
                        infos.append(info)
                        with file:
                            copy_range(file, out, info.size)
                    out.flush()
                    os.fsync(out.fileno())
            write_synced(tmp_meta, json.dumps(describe(infos)).encode())
            return self._commit(target, tmp, tmp_meta, path, meta_path)
        finally:
            tmp.unlink(missing_ok=True)
            tmp_meta.unlink(missing_ok=True)

    def _link(self, source: str, tmp: Path) -> ObjectInfo | None:
        """Hard-link the source's file at ``tmp``; its info, read under the same lock, or
        None where the filesystem cannot link it."""
        path, meta_path = self._paths(source)
        with self._locked(fcntl.LOCK_SH):
            info = self._info(source, path, meta_path)
            try:
                os.link(path, tmp)
            except OSError:
                return None  # a filesystem without hard links (or at its link limit)
        return info

    def _walk(self, directory: Path, key_prefix: str, name_start: str = "") -> Iterator[str]:
        try:
            with os.scandir(directory) as scan:
                entries = [e for e in scan if e.name.startswith(name_start)]
        except (FileNotFoundError, NotADirectoryError):
            return
        # "a/" sorts as it would inside a key, so "a.txt" < "a/b" < "a0" as on S3.
        dirs = {e.name for e in entries if e.is_dir(follow_symlinks=False)}
        for entry in sorted(entries, key=lambda e: e.name + "/" if e.name in dirs else e.name):
            if entry.name in dirs:
                yield from self._walk(Path(entry.path), f"{key_prefix}{entry.name}/")
            elif entry.is_file(follow_symlinks=False):
                yield key_prefix + entry.name


def _meta(etag: str, content_type: str, sha256: str | None) -> dict[str, str]:
    meta = {"etag": etag, "content_type": content_type}
    if sha256 is not None:
        meta["sha256"] = sha256
    return meta
