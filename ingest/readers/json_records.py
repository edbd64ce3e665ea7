"""JSON arrays, JSON Lines and single objects, streamed into Parquet with nested types.

Parsing is incremental without extra dependencies: ``json.JSONDecoder.raw_decode`` over a
sliding text buffer, one array element (or one line's value) at a time, so memory holds
one record (at most ``limits.max_line_bytes * 64``) and one block of rows, never the file.

Types: objects become structs (the union of their keys), arrays lists, int+float float;
values whose types conflict (text here, a number there; an object here, a list there) are
kept as JSON text in a string column rather than lost. A top-level object that wraps one
list of objects (``{"data": [...]}``, GeoJSON's ``features``) yields that list's rows.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from ingest.errors import IngestError, Location, excerpt
from ingest.options import FormatOptions
from ingest.readers.jsontypes import JsonBlock, JsonPlan
from ingest.readers.passes import TwoPhaseWriter
from ingest.readers.sink import WrittenTable
from ingest.readers.text import CHUNK_BYTES, read_head

_WS = re.compile(r"[ \t\n\r]*")
BLOCK_ROWS = 20_000
BLOCK_CHARS = 8 << 20


def _encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return "utf-8"  # RFC 8259: JSON exchanged between systems is UTF-8


class _Buffer:
    """Decoded text with a read position, refilled from the stream as values need it."""

    def __init__(self, stream: BinaryIO, encoding: str, where: Location) -> None:
        self._stream = stream
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
        self._where = where
        self.text = ""
        self.pos = 0
        self.line = 1  # line number at text[0]
        self.eof = False
        self._offset = 0
        # Newlines are counted once, forward from a mark, so line numbers cost O(n) overall.
        self._mark = 0
        self._mark_line = 1

    def fill(self) -> None:
        raw = self._stream.read(CHUNK_BYTES)
        self._offset += len(raw)
        try:
            more = self._decoder.decode(raw, final=not raw)
        except UnicodeDecodeError as exc:
            raise IngestError(
                "invalid-encoding",
                "the bytes are not valid UTF-8, which JSON requires",
                Location(**{**self._where.to_dict(), "line": self.line_at(len(self.text))}),
            ) from exc
        if not raw:
            self.eof = True
        self.line = self.line_at(self.pos)
        self.text = self.text[self.pos :] + more
        self.pos = 0
        self._mark, self._mark_line = 0, self.line

    def line_at(self, pos: int) -> int:
        if pos < self._mark:
            return self.line + self.text.count("\n", 0, pos)
        self._mark_line += self.text.count("\n", self._mark, pos)
        self._mark = pos
        return self._mark_line

    def skip_ws(self) -> str:
        """The next non-space character ('' at the end), without consuming it."""
        while True:
            match = _WS.match(self.text, self.pos)
            self.pos = match.end() if match else self.pos
            if self.pos < len(self.text) or self.eof:
                return self.text[self.pos : self.pos + 1]
            self.fill()

    def value(self, decoder: json.JSONDecoder, max_chars: int) -> tuple[int, Any, int]:
        """(line, value, characters) of the JSON value at the position."""
        while True:
            try:
                value, end = decoder.raw_decode(self.text, self.pos)
            except json.JSONDecodeError as exc:
                if self.eof or len(self.text) - self.pos > max_chars:
                    self._fail(exc, max_chars)
                self.fill()
                continue
            except RecursionError:
                raise IngestError(
                    "json-too-deep",
                    "the JSON is nested too deeply to read",
                    Location(**{**self._where.to_dict(), "line": self.line_at(self.pos)}),
                ) from None
            if end >= len(self.text) and not self.eof:
                self.fill()  # a number at the end of the buffer may go on
                continue
            line, size = self.line_at(self.pos), end - self.pos
            self.pos = end
            return line, value, size

    def _fail(self, exc: json.JSONDecodeError, max_chars: int) -> None:
        # At the very end of the data the value's own first line says more than the last.
        pos = exc.pos if exc.pos < len(self.text.rstrip()) else self.pos
        at = Location(**{**self._where.to_dict(), "line": self.line_at(pos)})
        if len(self.text) - self.pos > max_chars:
            raise IngestError(
                "invalid-json",
                f"a JSON value does not end within {max_chars:,} characters",
                at,
            )
        raise IngestError(
            "invalid-json",
            f"{exc.msg} near {excerpt(self.text[exc.pos : exc.pos + 30])}",
            at,
        ) from None


def iter_records(
    stream: BinaryIO, encoding: str, where: Location, max_chars: int, notes: list[str]
) -> Iterator[tuple[int, Any, int]]:
    """(line, record, size) per element of a top-level array, or per top-level value."""
    buf = _Buffer(stream, encoding, where)
    decoder = json.JSONDecoder()
    first = buf.skip_ws()
    if first == "":
        raise IngestError("empty-file", "the file holds no JSON value", where)
    if first == "[":
        buf.pos += 1
        if buf.skip_ws() == "]":
            buf.pos += 1
        else:
            while True:
                buf.skip_ws()
                yield buf.value(decoder, max_chars)
                sep = buf.skip_ws()
                buf.pos += 1
                if sep == "]":
                    break
                if sep != ",":
                    line = buf.line_at(buf.pos - 1)
                    raise IngestError(
                        "invalid-json",
                        f"expected ',' or ']' between array elements, found {excerpt(sep)}",
                        Location(**{**where.to_dict(), "line": line}),
                    )
        if buf.skip_ws() != "":
            raise IngestError(
                "invalid-json",
                "more data follows the top-level array",
                Location(**{**where.to_dict(), "line": buf.line_at(buf.pos)}),
            )
        return
    line, value, size = buf.value(decoder, max_chars)
    if buf.skip_ws() == "" and isinstance(value, dict):
        yield from _unwrap(line, value, size, notes)
        return
    yield line, value, size
    while buf.skip_ws() != "":
        yield buf.value(decoder, max_chars)


def _unwrap(
    line: int, value: dict[str, Any], size: int, notes: list[str]
) -> Iterator[tuple[int, Any, int]]:
    lists = [k for k, v in value.items() if isinstance(v, list) and v and isinstance(v[0], dict)]
    if len(lists) != 1:
        yield line, value, size
        return
    key = lists[0]
    others = [k for k in value if k != key]
    notes.append(
        f"rows taken from the top-level key {key!r}"
        + (f"; other keys not loaded: {', '.join(others[:10])}" if others else "")
    )
    each = max(size // len(value[key]), 1)
    for record in value[key]:
        yield line, record, each


class JsonSource:
    def __init__(
        self, open_stream: Callable[[], BinaryIO], encoding: str, where: Location, limits_chars: int
    ) -> None:
        self._open = open_stream
        self._encoding = encoding
        self._where = where
        self._max = limits_chars
        self.warnings: list[str] = []

    def __iter__(self) -> Iterator[JsonBlock]:
        notes: list[str] = []
        with self._open() as stream:
            block = JsonBlock([], [], 0)
            records = iter_records(stream, self._encoding, self._where, self._max, notes)
            for line, record, size in records:
                block.lines.append(line)
                block.records.append(record)
                block.chars += size
                if len(block.records) >= BLOCK_ROWS or block.chars >= BLOCK_CHARS:
                    yield block
                    block = JsonBlock([], [], 0)
            if block.records:
                yield block
        self.warnings = notes


def read_json(
    open_stream: Callable[[], BinaryIO],
    *,
    name: str,
    out_path: Path,
    options: FormatOptions,
    where: Location,
    source_format: str,
) -> WrittenTable:
    with open_stream() as stream:
        head, _ = read_head(stream, 4)
    encoding = options.encoding or _encoding(head)
    limits = options.limits
    max_chars = limits.max_line_bytes * 64
    plan = JsonPlan(limits, where)
    writer = TwoPhaseWriter(
        lambda: JsonSource(open_stream, encoding, where, max_chars),
        plan,
        out_path,
        budget=limits.inference_bytes,
    )
    rows, schema = writer.run()
    return WrittenTable(
        name=name,
        path=out_path,
        row_count=rows,
        schema=schema,
        source_format=source_format,
        options_used=options.with_(encoding=encoding, format=source_format),
        warnings=writer.warnings + plan.warnings,
    )
