"""CSV, TSV, semicolon and other delimited text: streamed into one typed Parquet file.

The pipeline per read: bytes → ``DelimitedSource`` (``blocks``: regular blocks of raw bytes
straight to Arrow's CSV parser; the rest through ``LineSource`` for decoding, CRLF and line
limits and ``RecordScanner`` for the preamble, ragged rows and the end of the table) →
string columns → ``TextTyper`` (types decided on a sample, then applied chunk by chunk) →
``ParquetSink``.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa

from ingest.errors import IngestError, Location, excerpt
from ingest.options import FormatOptions
from ingest.readers.blocks import DelimitedSource, TextBlock
from ingest.readers.coltypes import ARROW_TYPES, EMPTY, STRING, TextColumn, TextTyper
from ingest.readers.passes import Misfit, TwoPhaseWriter
from ingest.readers.sink import WrittenTable, column_names, unnamed_note
from ingest.readers.sniff import choose_delimiter, find_layout
from ingest.readers.text import EncodingRetry, LineSource, detect_encoding, read_head

SNIFF_BYTES = 1 << 20
# Threads that convert a block's columns (two: the worker's machine has two cores).
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="datahamn-convert")


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
        # Arrow's kernels release the GIL: the columns of a block convert in parallel.
        # map() hands the results back in column order, so the first misfit in the row's
        # column order is the one reported, as when converting one column after another.
        arrays = _POOL.map(self._convert_column, range(len(self.names)), [block] * len(self.names))
        kept = [arr for arr, kind in zip(arrays, self.kinds, strict=True) if kind != EMPTY]
        return pa.Table.from_arrays(kept, schema=self.schema)

    def _convert_column(self, i: int, block: TextBlock) -> pa.Array:
        name, kind = self.names[i], self.kinds[i]
        try:
            return self.typer.convert(kind, block.table.column(i), name, block.chunk.line_of)
        except Misfit as misfit:
            if self.columns[i].forced:
                raise IngestError(
                    "invalid-value",
                    f"{excerpt(misfit.value or '')} is not a valid"
                    f" {self.columns[i].forced} (options.column_types)",
                    Location(**{**self.where.to_dict(), "line": misfit.line, "column": name}),
                ) from None
            raise


def read_delimited(
    open_stream: Callable[[], BinaryIO],
    *,
    name: str,
    out_path: Path,
    options: FormatOptions,
    where: Location,
    prefer_tab: bool = False,
    require_delimiter: bool = False,
    fast: bool = True,
) -> WrittenTable | None:
    """Read one delimited text table; None if ``require_delimiter`` and none is found.

    ``fast=False`` reads every line through the general path (``blocks``), for comparison.
    """
    limits = options.limits
    head_size = max(SNIFF_BYTES, 2 * limits.max_line_bytes + 65536)
    with open_stream() as stream:
        head, eof = read_head(stream, head_size)
    del stream  # a closed stream may still hold its buffers
    if not head:
        raise IngestError("empty-file", "the file is empty", where)
    encoding, ascii_fallback = detect_encoding(head, options.encoding, where)
    source = LineSource(
        io.BytesIO(head),
        encoding,
        where=where,
        max_line_bytes=limits.max_line_bytes,
        prefix=not eof,
    )
    head_lines = [line for chunk in source.chunks() for line in chunk]
    if require_delimiter and not options.delimiter:
        if choose_delimiter(head_lines, options.quote, prefer_tab, options.decimal) is None:
            return None
    layout = find_layout(head_lines, options=options, where=where, prefer_tab=prefer_tab)
    del head, head_lines, source  # the sniffed head is not needed while the file is read
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
                fast=fast,
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
