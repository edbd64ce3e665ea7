"""gzip and zip inputs: decompression with bomb limits, member paths that stay inside.

Limits (``Limits``): the expansion ratio (output / input) and the total output size. gzip
carries no trustworthy size up front, so both are enforced while decompressing; the ratio
is checked once 8 MiB have come out (small files of repeated text may legitimately
compress 1000:1). A zip's central directory declares sizes, checked before any member is
read, and the reads are counted too since the directory can lie.
"""

from __future__ import annotations

import io
import posixpath
import stat
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO, cast

from ingest.errors import IngestError, Location
from ingest.options import Limits

RATIO_FLOOR = 8 << 20  # output below this is never a bomb, whatever the ratio
READ_SIZE = 1 << 20
JUNK = ("__MACOSX/", ".DS_Store", "Thumbs.db", "desktop.ini")


class _Budget:
    """Counts decompressed bytes against the ratio and total-size limits."""

    def __init__(self, limits: Limits, where: Location) -> None:
        self.limits = limits
        self.where = where
        self.total_out = 0

    def add(self, produced: int, consumed: int) -> None:
        self.total_out += produced
        limits = self.limits
        if self.total_out > limits.max_uncompressed_bytes:
            raise IngestError(
                "decompression-bomb",
                f"decompressed data exceeds {limits.max_uncompressed_bytes:,} bytes"
                " (limits.max_uncompressed_bytes)",
                self.where,
            )
        if self.total_out > RATIO_FLOOR and self.total_out > limits.max_compression_ratio * max(
            consumed, 1
        ):
            raise IngestError(
                "decompression-bomb",
                f"{consumed:,} compressed bytes expand to more than {self.total_out:,}"
                f" (over {limits.max_compression_ratio:g}:1, limits.max_compression_ratio)",
                self.where,
            )


def open_gzip(source: BinaryIO, limits: Limits, where: Location) -> BinaryIO:
    """The content of a gzip stream, as a buffered binary stream."""
    return cast(BinaryIO, io.BufferedReader(GzipStream(source, limits, where), READ_SIZE))


class GzipStream(io.RawIOBase):
    """A readable, non-seekable stream of a gzip's content (concatenated members too)."""

    def __init__(self, source: BinaryIO, limits: Limits, where: Location) -> None:
        self._source = source
        self._where = where
        self._budget = _Budget(limits, where)
        self._inflater = zlib.decompressobj(wbits=31)
        self._consumed = 0
        self._buffer = b""
        self._input = b""
        self._eof = False

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._source.close()
        super().close()

    def _more(self) -> bytes:
        while True:
            if not self._input:
                self._input = self._source.read(READ_SIZE)
                self._consumed += len(self._input)
                if not self._input:
                    if not self._inflater.eof:
                        raise IngestError(
                            "truncated-gzip",
                            "the gzip stream ends early: the file was cut off (upload"
                            " interrupted?)",
                            Location(**{**self._where.to_dict(), "byte_offset": self._consumed}),
                        )
                    self._eof = True
                    return b""
            if self._inflater.eof:  # another gzip member follows
                self._inflater = zlib.decompressobj(wbits=31)
            try:
                out = self._inflater.decompress(self._input, READ_SIZE)
            except zlib.error as exc:
                raise IngestError(
                    "corrupt-gzip",
                    f"the gzip data is damaged ({exc})",
                    Location(**{**self._where.to_dict(), "byte_offset": self._consumed}),
                ) from None
            self._input = self._inflater.unconsumed_tail or self._inflater.unused_data
            if self._inflater.eof and self._input.strip(b"\x00") == b"":
                self._input = b""  # trailing zero padding after the last member
            # Count only the input the inflater has used: one read may hold the whole bomb.
            self._budget.add(len(out), self._consumed - len(self._input))
            if out:
                return out

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        if not self._buffer and not self._eof:
            self._buffer = self._more()
        n = min(len(target), len(self._buffer))
        target[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n


def unsafe_reason(name: str, info: zipfile.ZipInfo | None = None) -> str | None:
    """Why a member path must not be used, or None when it stays inside the archive."""
    path = name.replace("\\", "/")
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        return "is an absolute path"
    if ".." in path.split("/"):
        return "climbs out of the archive with '..'"
    if "\x00" in path:
        return "contains a NUL byte"
    if info is not None and stat.S_ISLNK(info.external_attr >> 16):
        return "is a symbolic link"
    return None


@dataclass
class Member:
    path: str
    size: int
    info: zipfile.ZipInfo


class ZipArchive:
    """A checked zip: safe paths, declared sizes within limits, reads counted."""

    def __init__(self, path: Path, limits: Limits, where: Location) -> None:
        self.where = where
        self.limits = limits
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise IngestError("invalid-zip", f"not a readable zip archive ({exc})", where) from None
        infos = self._zip.infolist()
        if len(infos) > limits.max_members:
            raise IngestError(
                "too-many-members",
                f"the archive has {len(infos):,} members; at most {limits.max_members:,}"
                " (limits.max_members)",
                where,
            )
        self.members: list[Member] = []
        total = 0
        for info in infos:
            at = self._at(info.filename)
            reason = unsafe_reason(info.filename, info)
            if reason:
                raise IngestError("unsafe-path", f"a member path {reason}", at)
            if info.is_dir():
                continue
            if info.flag_bits & 0x1:
                raise IngestError("encrypted-zip", "the member is encrypted", at)
            total += info.file_size
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > RATIO_FLOOR and ratio > limits.max_compression_ratio:
                raise IngestError(
                    "decompression-bomb",
                    f"{info.compress_size:,} bytes declare {info.file_size:,} bytes of content"
                    f" ({ratio:,.0f}:1, over {limits.max_compression_ratio:g}:1,"
                    " limits.max_compression_ratio)",
                    at,
                )
            if total > limits.max_uncompressed_bytes:
                raise IngestError(
                    "decompression-bomb",
                    f"the members add up to more than {limits.max_uncompressed_bytes:,} bytes"
                    " (limits.max_uncompressed_bytes)",
                    at,
                )
            self.members.append(Member(info.filename.replace("\\", "/"), info.file_size, info))

    def _at(self, member: str) -> Location:
        return Location(**{**self.where.to_dict(), "member": member})

    def close(self) -> None:
        self._zip.close()

    def opener(self, member: Member) -> Callable[[], BinaryIO]:
        def open_member() -> BinaryIO:
            try:
                raw = self._zip.open(member.info)
            except (zipfile.BadZipFile, NotImplementedError, RuntimeError) as exc:
                raise IngestError(
                    "invalid-zip", f"the member cannot be read ({exc})", self._at(member.path)
                ) from None
            counted = _Counted(raw, member, self.limits, self._at(member.path))
            return cast(BinaryIO, io.BufferedReader(counted, READ_SIZE))

        return open_member


class _Counted(io.RawIOBase):
    """A zip member's stream that fails clearly on damage or more bytes than declared."""

    def __init__(self, raw: IO[bytes], member: Member, limits: Limits, where: Location) -> None:
        self._raw = raw
        self._member = member
        self._where = where
        self._budget = _Budget(limits, where)
        self._read = 0

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._raw.close()
        super().close()

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        try:
            data = self._raw.read(len(target))
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise IngestError(
                "invalid-zip", f"the member is damaged ({exc})", self._where
            ) from None
        self._read += len(data)
        if self._read > self._member.size:
            raise IngestError(
                "decompression-bomb",
                f"the member holds more than the {self._member.size:,} bytes it declares",
                self._where,
            )
        self._budget.add(len(data), self._member.info.compress_size)
        target[: len(data)] = data
        return len(data)


def iter_chunks(stream: BinaryIO, size: int = READ_SIZE) -> Iterator[bytes]:
    while chunk := stream.read(size):
        yield chunk


def is_junk(path: str) -> bool:
    return any(part in path for part in JUNK) or posixpath.basename(path).startswith("._")
