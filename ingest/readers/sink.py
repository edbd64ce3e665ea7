"""Writing normalised tables: column naming and a bounded-memory Parquet writer.

Row groups: batches are gathered until ``ROW_GROUP_BYTES`` of Arrow data or
``ROW_GROUP_ROWS`` rows, then written as one row group. A few dozen MB per group keeps
DuckDB and Spark scans parallel and the statistics per group useful, while the writer
holds at most one group in memory.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ingest.options import FormatOptions

ROW_GROUP_BYTES = 32 << 20
ROW_GROUP_ROWS = 1 << 20
COMPRESSION_LEVEL = 3

# Words that need quoting in DuckDB, PostgreSQL or Spark SQL; an alias must never need it.
_RESERVED = frozenset(
    """all and any array as asc between both by case cast check collate column constraint
    create cross current_date current_time current_timestamp current_user default desc
    distinct do else end except false fetch for foreign from full grant group having in
    inner intersect interval into is join lateral leading left like limit natural not null
    offset on only or order outer over partition pivot placing primary qualify references
    returning right select session_user some symmetric table then to trailing true union
    unique unpivot user using values variadic when where window with""".split()
)


@dataclass
class WrittenTable:
    """What a reader produced: one Parquet file and how it was read."""

    name: str
    path: Path
    row_count: int
    schema: pa.Schema
    source_format: str
    options_used: FormatOptions
    warnings: list[str] = field(default_factory=list)
    preamble: list[str] = field(default_factory=list)


def column_names(published: list[str]) -> tuple[list[str], list[str]]:
    """Names as published (trimmed); unnamed columns become ``column_N``; repeats get ``_2``."""
    names: list[str] = []
    warnings: list[str] = []
    seen: set[str] = set()
    for i, raw in enumerate(published, start=1):
        name = raw.strip() or f"column_{i}"
        base, k = name, 2
        while name.lower() in seen:
            name = f"{base}_{k}"
            k += 1
        if name != base:
            warnings.append(f"column {i} repeats the name {base!r}; renamed {name!r}")
        seen.add(name.lower())
        names.append(name)
    return names, warnings


def unnamed_note(published: list[str], names: list[str], dropped: list[str]) -> list[str]:
    """A warning for kept columns that had no name in the file."""
    kept = [n for p, n in zip(published, names, strict=True) if not p.strip() and n not in dropped]
    return [f"column(s) without a name in the file, named: {', '.join(kept[:10])}"] if kept else []


def sql_aliases(names: list[str]) -> list[str]:
    """SQL-safe aliases: lower-case ASCII letters, digits and ``_``, never reserved, unique.

    Swedish letters lose their diacritics (``Län`` -> ``lan``) so the alias stays readable.
    """
    out: list[str] = []
    seen: set[str] = set()
    for name in names:
        ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
        alias = re.sub(r"[^0-9a-z]+", "_", ascii_name.lower()).strip("_") or "column"
        if alias[0].isdigit():
            alias = f"c_{alias}"
        if alias in _RESERVED:
            alias += "_"
        alias = alias[:63]  # PostgreSQL's identifier limit
        base, k = alias, 2
        while alias in seen:
            alias = f"{base[:59]}_{k}"
            k += 1
        seen.add(alias)
        out.append(alias)
    return out


class ParquetSink:
    """Writes tables of one schema to a zstd Parquet file in bounded row groups."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path = path
        self.schema = schema
        self.rows = 0
        self._pending: list[pa.Table] = []
        self._pending_bytes = 0
        self._pending_rows = 0
        self._writer = pq.ParquetWriter(
            str(path),
            schema,
            compression="zstd",
            compression_level=COMPRESSION_LEVEL,
            write_statistics=True,
        )

    def write(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        self._pending.append(table)
        self._pending_bytes += table.nbytes
        self._pending_rows += table.num_rows
        if self._pending_bytes >= ROW_GROUP_BYTES or self._pending_rows >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        table = pa.concat_tables(self._pending)
        self._pending.clear()
        self._writer.write_table(table, row_group_size=max(table.num_rows, 1))
        self.rows += table.num_rows
        self._pending_bytes = self._pending_rows = 0
        # Arrow's allocator keeps freed pages for reuse; a written row group's go back to
        # the system, or the worker's resident memory keeps the peak of every step.
        del table
        pa.default_memory_pool().release_unused()

    def close(self) -> int:
        self._flush()
        self._writer.close()
        return self.rows

    def abort(self) -> None:
        self._pending.clear()
        try:
            self._writer.close()
        finally:
            self.path.unlink(missing_ok=True)
