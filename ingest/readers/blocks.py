"""One read of a delimited file as blocks of string columns: Arrow on the bytes where it can.

Most of a large file is regular: rows of the table's width, one per line, in UTF-8 or in a
single-byte encoding that transcodes with one C call per block. Such a block of about
``READ_BYTES`` (cut after a line break) goes from the raw bytes straight to Arrow's
multi-threaded CSV parser, with no Python work per line. Arrow proves the block regular
on its own: it raises on a row of another width and on bytes that are not UTF-8, skips
blank lines, and reads a quoted line break as part of a value; so a block that parses and
has as many rows as lines has none of these.

Every other block (blank lines, ragged rows, the end of the table and the notes after it,
line breaks in values, lone CRs, undecodable bytes, over-long lines) is read by the
general path, ``LineSource`` and ``RecordScanner``, line by line, which applies all the
rules and reports errors with their line and byte offset. The scanner also keeps the
whole-file state (row counts, ragged rows, the table's end) across both kinds of block.
UTF-16 and other encodings use the general path for the whole file.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ingest.errors import IngestError, Location
from ingest.options import FormatOptions
from ingest.readers.records import BLOCK_CHARS, Chunk, RecordScanner
from ingest.readers.sniff import Layout
from ingest.readers.text import LineSource

READ_BYTES = 2 << 20
FAST_ENCODINGS = frozenset({"utf-8", "utf-8-sig", "iso8859-1", "cp1252"})
# After this many blocks in a row that needed the general path (a file of multi-line
# values, say), only every RETRY_EVERY-th block tries Arrow first: a failed attempt is an
# Arrow parse spent on top of the general path's work.
GIVE_UP_AFTER = 3
RETRY_EVERY = 16
# Arrow's own parallel unit inside one block.
ARROW_BLOCK_BYTES = 1 << 20


@dataclass
class TextBlock:
    table: pa.Table  # every column a string
    chunk: Chunk
    fast: bool = False  # parsed by Arrow from the raw bytes


@dataclass
class _Raw:
    data: bytes
    first_byte: int  # offset of data[0] in the stream
    first: bool  # the start of the stream (a BOM, the lines before the data)


def _raw_blocks(stream: BinaryIO, size: int, max_line: int) -> Iterator[_Raw]:
    """The stream in blocks that end after a line break (the last one may not).

    Only the block being handed out and the part of a line after it stay referenced.
    """
    carry = b""
    offset = 0
    first = True
    while True:
        block = stream.read(size)
        if not block:
            if carry:
                yield _Raw(carry, offset, first)
            return
        if carry:
            block = carry + block
        cut = block.rfind(b"\n") + 1
        if not cut:  # old Mac line ends; a CR last in the block may be half a CRLF
            cut = block.rfind(b"\r", 0, len(block) - 1) + 1
        if not cut:
            if len(block) <= max_line:
                carry = block
                continue
            cut = len(block)  # one line longer than allowed: the general path reports it
        carry = block[cut:]
        if cut < len(block):
            block = block[:cut]
        yield _Raw(block, offset, first)
        offset += cut
        first = False


def _open_quote_at_end(table: pa.Table) -> bool:
    """Whether the last row holds a line break: Arrow ends a quote left open at the end of
    its input there without an error, and the row count does not show it."""
    last = table.slice(table.num_rows - 1)
    return any("\n" in (col[0].as_py() or "") for col in last.columns)


def _slices(table: pa.Table, first_row: int, size: int) -> Iterator[TextBlock]:
    """A fast block in pieces of about ``BLOCK_CHARS``, the general path's block size, so
    that the type sample (``limits.inference_bytes``) ends at about the same row."""
    pieces = max(1, round(size / BLOCK_CHARS))
    step = -(-table.num_rows // pieces)
    for start in range(0, table.num_rows, step):
        part = table.slice(start, step)
        chunk = Chunk([], [(0, first_row + start)], size * part.num_rows // table.num_rows)
        yield TextBlock(part, chunk, fast=True)


class DelimitedSource:
    """One read of the file: blocks of regular records, as Arrow string columns."""

    def __init__(
        self,
        open_stream: Callable[[], BinaryIO],
        *,
        encoding: str,
        ascii_fallback: bool,
        layout: Layout,
        options: FormatOptions,
        where: Location,
        fast: bool = True,
        read_bytes: int = READ_BYTES,
    ) -> None:
        self._open = open_stream
        self._encoding = encoding
        self._ascii_fallback = ascii_fallback
        self._layout = layout
        self._options = options
        self._where = where
        self._read_bytes = read_bytes
        codec = codecs.lookup(encoding).name
        self._fast = fast and codec in FAST_ENCODINGS and layout.width > 1
        self._transcode = codec not in ("utf-8", "utf-8-sig")
        self.warnings: list[str] = []
        self.fast_rows = 0
        self.general_rows = 0
        columns = [f"c{i}" for i in range(layout.width)]
        self._read = pacsv.ReadOptions(
            column_names=columns,
            block_size=max(4 << 20, 2 * options.limits.max_line_bytes + 1024),
            use_threads=False,
        )
        self._fast_read = pacsv.ReadOptions(
            column_names=columns, block_size=ARROW_BLOCK_BYTES, use_threads=True
        )
        self._parse = pacsv.ParseOptions(
            delimiter=layout.delimiter,
            quote_char=options.quote,
            double_quote=True,
            newlines_in_values=True,
            ignore_empty_lines=True,
        )
        # Without a quote character in a block there are no quoted line breaks, and Arrow
        # can split the block at any line break to parse the pieces in parallel.
        self._unquoted = pacsv.ParseOptions(
            delimiter=layout.delimiter,
            quote_char=options.quote,
            double_quote=True,
            newlines_in_values=False,
            ignore_empty_lines=True,
        )
        self._convert = pacsv.ConvertOptions(
            column_types={c: pa.string() for c in columns},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            null_values=[],
            check_utf8=False,
        )
        # The fast path hands Arrow the file's own bytes: Arrow checks that they are UTF-8.
        self._convert_checked = pacsv.ConvertOptions(
            column_types={c: pa.string() for c in columns},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            null_values=[],
            check_utf8=not self._transcode,
        )

    def _scanner(self) -> RecordScanner:
        layout = self._layout
        return RecordScanner(
            delimiter=layout.delimiter,
            quote=self._options.quote,
            width=layout.width,
            data_start=layout.data_start,
            limits=self._options.limits,
            where=self._where,
        )

    def __iter__(self) -> Iterator[TextBlock]:
        stream = self._open()
        try:
            yield from self._blocks(stream) if self._fast else self._lines(stream)
        finally:
            stream.close()

    # -- the general path for a whole file ---------------------------------------------
    def _lines(self, stream: BinaryIO) -> Iterator[TextBlock]:
        lines = LineSource(
            stream,
            self._encoding,
            where=self._where,
            max_line_bytes=self._options.limits.max_line_bytes,
            ascii_fallback=self._ascii_fallback,
            watch=self._options.quote,
        )
        scanner = self._scanner()
        yield from self._scan(lines, scanner)
        self.warnings = scanner.finish()
        last = scanner.take()
        if last.records:
            yield self._parse_chunk(last)

    def _scan(self, lines: LineSource, scanner: RecordScanner) -> Iterator[TextBlock]:
        for chunk in lines.chunks():
            scanner.feed(chunk, lines.line_no - len(chunk) + 1, lines.saw_watch)
            if scanner.chars >= BLOCK_CHARS:
                yield self._parse_chunk(scanner.take())

    # -- blocks: Arrow first, the general path where a block needs it ------------------
    def _blocks(self, stream: BinaryIO) -> Iterator[TextBlock]:
        scanner = self._scanner()
        limits = self._options.limits
        line = 1  # the file's line that the next block starts with
        all_ascii = True  # so far: a later non-UTF-8 byte then means another encoding
        misses = 0
        for index, raw in enumerate(_raw_blocks(stream, self._read_bytes, limits.max_line_bytes)):
            block = None
            attempt = misses < GIVE_UP_AFTER or index % RETRY_EVERY == 0
            if attempt and not scanner.pending:
                block = self._fast_block(raw, line)
                misses = 0 if block is not None else misses + 1
            if block is not None:
                table, lines, first_row = block
                line += lines
                all_ascii = all_ascii and raw.data.isascii()
                size = len(raw.data)
                del raw  # the bytes are in Arrow now; the next read may reuse the memory
                if table.num_rows and scanner.regular(table.num_rows):
                    self.fast_rows += table.num_rows
                    yield from _slices(table, first_row, size)
                continue
            # A BOM can only start the file; later blocks must not lose one that isn't there.
            utf8 = not self._transcode and not raw.first
            source = LineSource(
                io.BytesIO(raw.data),
                "utf-8" if utf8 else self._encoding,
                where=self._where,
                max_line_bytes=limits.max_line_bytes,
                ascii_fallback=self._ascii_fallback and all_ascii,
                watch=self._options.quote,
                first_line=line,
                first_byte=raw.first_byte,
            )
            yield from self._scan(source, scanner)
            last = scanner.take()
            if last.records:
                yield self._parse_chunk(last)
            line = source.line_no + 1
            all_ascii = all_ascii and raw.data.isascii()
        self.warnings = scanner.finish()

    def _fast_block(self, raw: _Raw, line: int) -> tuple[pa.Table, int, int] | None:
        """(string columns, physical lines in the block, line of its first row), or None if
        the block needs the general path."""
        data = raw.data
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n")
            if b"\r" in data:  # a lone CR ends a line for Python but not always for Arrow
                return None
        if self._transcode:
            try:
                data = data.decode(self._encoding).encode("utf-8")
            except UnicodeDecodeError:
                return None
        elif raw.first and data.startswith(codecs.BOM_UTF8):
            data = data[len(codecs.BOM_UTF8) :]
        lines = data.count(b"\n") + (not data.endswith(b"\n"))
        start, first_row = 0, line
        skip = self._layout.data_start - line  # the lines before the data (preamble, header)
        while skip > 0 and start < len(data):
            start = data.find(b"\n", start) + 1 or len(data)
            skip -= 1
            first_row += 1
        body = data[start:] if start else data
        quoted = self._options.quote.encode() in body
        if quoted and not body.endswith(b"\n"):
            body += b"\n"  # so that a quote left open at the end swallows a line break
        try:
            table = pacsv.read_csv(
                pa.BufferReader(body),
                read_options=self._fast_read,
                parse_options=self._parse if quoted else self._unquoted,
                convert_options=self._convert_checked,
            )
        except pa.ArrowInvalid:  # a row of another width, or bytes that are not UTF-8
            return None
        if table.num_rows != lines - (first_row - line):  # blank lines or quoted line breaks
            return None
        if quoted and table.num_rows and _open_quote_at_end(table):
            return None
        if len(body) > self._options.limits.max_line_bytes and self._long_row(table, quoted):
            return None
        return table, lines, first_row

    def _long_row(self, table: pa.Table, quoted: bool) -> bool:
        """Whether a row may be longer than the line limit (the general path then decides).

        Without quotes a row's line is its values and the delimiters between them; quotes
        add at most two per value and double the quote characters inside one.
        """
        limit = self._options.limits.max_line_bytes
        width = table.num_columns
        if not table.num_rows or width == 0:
            return False
        lengths = pc.binary_length(table.column(0))
        for i in range(1, width):
            lengths = pc.add(lengths, pc.binary_length(table.column(i)))
        longest = pc.max(lengths).as_py() or 0
        bound = 2 * longest + 3 * width if quoted else longest + width - 1
        return bool(bound > limit)

    def _parse_chunk(self, chunk: Chunk) -> TextBlock:
        data = ("\n".join(chunk.records) + "\n").encode("utf-8")
        try:
            table = pacsv.read_csv(
                pa.BufferReader(data),
                read_options=self._read,
                parse_options=self._parse,
                convert_options=self._convert,
            )
        except pa.ArrowInvalid as exc:  # the scanner and Arrow disagree on a quote
            line = chunk.line_of(0)
            raise IngestError(
                "ragged-rows",
                f"rows in the block starting at line {line} could not be split into"
                f" {self._layout.width} fields ({str(exc).split(':')[0]})",
                Location(**{**self._where.to_dict(), "line": line}),
            ) from None
        if table.num_rows != len(chunk.records):  # pragma: no cover - a scanner bug
            raise RuntimeError("record count mismatch between scanner and parser")
        self.general_rows += table.num_rows
        chunk.records = []  # the text now lives in Arrow; held sample blocks must not keep it
        return TextBlock(table, chunk)
