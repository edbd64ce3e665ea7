"""CSV, TSV, semicolon and other delimited text: streamed into one typed Parquet file.

The pipeline per read: bytes → ``LineSource`` (decode, CRLF, line limits) →
``RecordScanner`` (preamble skipped, ragged rows regularised, end of table) → blocks of
about 4 MB re-encoded as UTF-8 → Arrow's CSV parser with every column as string →
``TextTyper`` (types decided on a sample, then applied chunk by chunk) → ``ParquetSink``.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.csv as pacsv

from ingest.errors import IngestError, Location, excerpt
from ingest.options import FormatOptions
from ingest.readers.coltypes import ARROW_TYPES, EMPTY, STRING, TextColumn, TextTyper
from ingest.readers.passes import Misfit, TwoPhaseWriter
from ingest.readers.records import BLOCK_CHARS, Chunk, RecordScanner
from ingest.readers.sink import WrittenTable, column_names, unnamed_note
from ingest.readers.sniff import Layout, choose_delimiter, find_layout
from ingest.readers.text import EncodingRetry, LineSource, detect_encoding, read_head

SNIFF_BYTES = 1 << 20


@dataclass
class TextBlock:
    table: pa.Table  # every column a string
    chunk: Chunk


class DelimitedSource:
    """One read of the file: blocks of regular records parsed by Arrow."""

    def __init__(
        self,
        open_stream: Callable[[], BinaryIO],
        *,
        encoding: str,
        ascii_fallback: bool,
        layout: Layout,
        options: FormatOptions,
        where: Location,
    ) -> None:
        self._open = open_stream
        self._encoding = encoding
        self._ascii_fallback = ascii_fallback
        self._layout = layout
        self._options = options
        self._where = where
        self.warnings: list[str] = []
        width = layout.width
        self._columns = [f"c{i}" for i in range(width)]
        self._read = pacsv.ReadOptions(
            column_names=self._columns,
            block_size=max(4 << 20, 2 * options.limits.max_line_bytes + 1024),
            use_threads=False,
        )
        self._parse = pacsv.ParseOptions(
            delimiter=layout.delimiter,
            quote_char=options.quote,
            double_quote=True,
            newlines_in_values=True,
            ignore_empty_lines=True,
        )
        self._convert = pacsv.ConvertOptions(
            column_types={c: pa.string() for c in self._columns},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            null_values=[],
            check_utf8=False,
        )

    def __iter__(self) -> Iterator[TextBlock]:
        layout, limits = self._layout, self._options.limits
        stream = self._open()
        try:
            lines = LineSource(
                stream,
                self._encoding,
                where=self._where,
                max_line_bytes=limits.max_line_bytes,
                ascii_fallback=self._ascii_fallback,
                watch=self._options.quote,
            )
            scanner = RecordScanner(
                delimiter=layout.delimiter,
                quote=self._options.quote,
                width=layout.width,
                data_start=layout.data_start,
                limits=limits,
                where=self._where,
            )
            for chunk in lines.chunks():
                scanner.feed(chunk, lines.line_no - len(chunk) + 1, lines.saw_watch)
                if scanner.chars >= BLOCK_CHARS:
                    yield self._parse_chunk(scanner.take())
            self.warnings = scanner.finish()
            last = scanner.take()
            if last.records:
                yield self._parse_chunk(last)
        finally:
            stream.close()

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
        chunk.records = []  # the text now lives in Arrow; held sample blocks must not keep it
        return TextBlock(table, chunk)


class TextPlan:
    """Column types for a delimited file (see ``coltypes``)."""

    def __init__(
        self, published: list[str], names: list[str], options: FormatOptions, where: Location
    ) -> None:
        self.where = where
        self.typer = TextTyper(options)
        self.names = names
        self.unnamed = [not p.strip() for p in published]
        self.columns: list[TextColumn] = [
            self.typer.column(options.column_types.get(n)) for n in names
        ]
        self.kinds: list[str] = []
        self.schema = pa.schema([])

    def size(self, block: TextBlock) -> int:
        return block.chunk.chars

    def observe(self, block: TextBlock) -> None:
        for i, col in enumerate(self.columns):
            self.typer.observe(col, block.table.column(i))

    def decide(self) -> pa.Schema:
        kinds = [c.kind() for c in self.columns]
        # An unnamed column with nothing in it (a trailing delimiter) is dropped; a named
        # empty column is kept as text, so a late value never forces a re-read.
        self.kinds = [
            k if k != EMPTY or un else STRING for k, un in zip(kinds, self.unnamed, strict=True)
        ]
        fields = [
            pa.field(n, ARROW_TYPES[k])
            for n, k in zip(self.names, self.kinds, strict=True)
            if k != EMPTY
        ]
        self.schema = pa.schema(fields)
        return self.schema

    def dropped(self) -> list[str]:
        return [n for n, k in zip(self.names, self.kinds, strict=True) if k == EMPTY]

    def convert(self, block: TextBlock) -> pa.Table:
        arrays = []
        for i, (name, kind) in enumerate(zip(self.names, self.kinds, strict=True)):
            try:
                arr = self.typer.convert(kind, block.table.column(i), name, block.chunk.line_of)
            except Misfit as misfit:
                if self.columns[i].forced:
                    raise IngestError(
                        "invalid-value",
                        f"{excerpt(misfit.value or '')} is not a valid"
                        f" {self.columns[i].forced} (options.column_types)",
                        Location(**{**self.where.to_dict(), "line": misfit.line, "column": name}),
                    ) from None
                raise
            if kind != EMPTY:
                arrays.append(arr)
        return pa.Table.from_arrays(arrays, schema=self.schema)


def read_delimited(
    open_stream: Callable[[], BinaryIO],
    *,
    name: str,
    out_path: Path,
    options: FormatOptions,
    where: Location,
    prefer_tab: bool = False,
    require_delimiter: bool = False,
) -> WrittenTable | None:
    """Read one delimited text table; None if ``require_delimiter`` and none is found."""
    limits = options.limits
    head_size = max(SNIFF_BYTES, 2 * limits.max_line_bytes + 65536)
    with open_stream() as stream:
        head, eof = read_head(stream, head_size)
    if not head:
        raise IngestError("empty-file", "the file is empty", where)
    encoding, ascii_fallback = detect_encoding(head, options.encoding, where)
    head_lines: list[str] = []
    source = LineSource(
        io.BytesIO(head),
        encoding,
        where=where,
        max_line_bytes=limits.max_line_bytes,
        prefix=not eof,
    )
    for chunk in source.chunks():
        head_lines.extend(chunk)
    if require_delimiter and not options.delimiter:
        if choose_delimiter(head_lines, options.quote, prefer_tab, options.decimal) is None:
            return None
    layout = find_layout(head_lines, options=options, where=where, prefer_tab=prefer_tab)
    names, warnings = column_names(layout.names)
    warnings = layout.warnings + warnings

    def attempt(encoding: str, ascii_fallback: bool) -> tuple[TextPlan, TwoPhaseWriter[TextBlock]]:
        plan = TextPlan(layout.names, names, options, where)
        writer = TwoPhaseWriter(
            lambda: DelimitedSource(
                open_stream,
                encoding=encoding,
                ascii_fallback=ascii_fallback,
                layout=layout,
                options=options,
                where=where,
            ),
            plan,
            out_path,
            budget=limits.inference_bytes,
        )
        return plan, writer

    plan, writer = attempt(encoding, ascii_fallback)
    try:
        rows, schema = writer.run()
    except EncodingRetry as retry:
        # Only the ASCII head was seen when UTF-8 was chosen; the first non-ASCII byte
        # decides between cp1252 and Latin-1, and the file is read again from the start.
        warnings.append(
            f"the start of the file is plain ASCII but later bytes are not UTF-8;"
            f" read as {retry.encoding}"
        )
        encoding = retry.encoding
        plan, writer = attempt(encoding, False)
        rows, schema = writer.run()
    dropped = plan.dropped()
    if dropped:
        warnings.append(f"empty unnamed column(s) dropped: {', '.join(dropped)}")
    warnings += unnamed_note(layout.names, names, dropped)
    used = options.with_(
        encoding=encoding,
        delimiter=layout.delimiter,
        skip_rows=layout.skip_rows,
        header=layout.header,
    )
    return WrittenTable(
        name=name,
        path=out_path,
        row_count=rows,
        schema=schema,
        source_format="csv",
        options_used=used,
        warnings=warnings + writer.warnings,
        preamble=layout.preamble,
    )
