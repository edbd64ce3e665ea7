"""Byte streams shared by the stores: what ``put()`` accepts and ranges of open files."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import BinaryIO

CHUNK = 1 << 20


def iter_source(data: BinaryIO | Iterable[bytes], chunk_size: int = CHUNK) -> Iterator[bytes]:
    """The chunks of ``data``, whether it is a file object or an iterable of bytes."""
    # bytes is itself an Iterable (of ints); taking it whole spares callers a BytesIO.
    if isinstance(data, bytes | bytearray | memoryview):
        if data:
            yield bytes(data)
        return
    read = getattr(data, "read", None)
    if callable(read):
        while chunk := read(chunk_size):
            yield chunk
        return
    for chunk in data:
        if not isinstance(chunk, bytes | bytearray | memoryview):
            raise TypeError(f"put() data yielded {type(chunk).__name__}, not bytes")
        if chunk:
            yield bytes(chunk)


class FileRange(Iterator[bytes]):
    """Bytes ``start..end`` (inclusive) of an open file, in chunks; closes the file when done.

    A class rather than a generator so that close() works even before the first chunk: a
    generator that never started cannot run its ``finally``.
    """

    def __init__(self, file: BinaryIO, start: int, end: int, chunk_size: int = CHUNK) -> None:
        self._file = file
        if chunk_size < 1:
            file.close()
            raise ValueError("chunk_size must be positive")
        file.seek(start)
        self._remaining = max(0, end - start + 1)
        self._chunk_size = chunk_size

    def __iter__(self) -> FileRange:
        return self

    def __next__(self) -> bytes:
        if self._file.closed:
            raise StopIteration
        chunk = self._file.read(min(self._chunk_size, self._remaining)) if self._remaining else b""
        if not chunk:
            self.close()
            raise StopIteration
        self._remaining -= len(chunk)
        return chunk

    def close(self) -> None:
        self._file.close()

    def __del__(self) -> None:
        self.close()


def check_range(size: int, start: int, end: int | None) -> int:
    """The inclusive end of the range ``start..end`` of a ``size``-byte object.

    Like HTTP, an ``end`` past the object is cut to its last byte, and a range that starts at
    or past the end is an error, except the whole of an empty object.
    """
    if start < 0:
        raise ValueError(f"range start {start} is negative")
    if end is not None and end < start:
        raise ValueError(f"range end {end} is before its start {start}")
    if start == 0 and end is None:
        return size - 1
    if start >= size:
        raise ValueError(f"range {start}-{'' if end is None else end} is past the object's end")
    return size - 1 if end is None else min(end, size - 1)
