"""The entry point of ingestion's reading core: one upload in, Parquet tables out.

``normalise`` detects what the upload is (``formats``), unwraps gzip and zip (with bomb
limits and path checks), streams each table into a zstd Parquet file under ``work_dir``
and computes its column statistics. It never holds a whole file or table in memory: text
and JSON stream from ``open_source()``; zip, xlsx and Parquet, which need random access,
are first copied to ``work_dir`` in chunks. Bad input raises ``IngestError`` and leaves no
output behind. Storing the original, validating and publishing are the pipeline's job.
"""

from __future__ import annotations

import io
import posixpath
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, cast

import pyarrow as pa

from ingest.errors import IngestError, Location
from ingest.formats import HEAD_BYTES, detect, extension, inner_name
from ingest.options import FormatOptions
from ingest.readers.archives import ZipArchive, is_junk, open_gzip
from ingest.readers.delimited import read_delimited
from ingest.readers.excel import read_excel
from ingest.readers.json_records import read_json
from ingest.readers.opaque import checksum, write_manifest
from ingest.readers.parquet import read_parquet
from ingest.readers.sink import WrittenTable, sql_aliases
from ingest.readers.text import read_head
from ingest.statistics import table_statistics
from validation import Profile

Opener = Callable[[], BinaryIO]


@dataclass(frozen=True)
class ColumnInfo:
    name: str  # as published (trimmed; unnamed columns are column_N)
    alias: str  # SQL-safe: [a-z0-9_], not reserved, unique in the table
    arrow_type: str


@dataclass
class NormalisedTable:
    name: str  # sheet name, zip member path, or the file's stem
    parquet_path: Path
    row_count: int
    arrow_schema: pa.Schema
    columns: list[ColumnInfo]
    statistics: dict[str, dict[str, Any]]
    source_format: str  # csv, json, jsonl, xlsx, parquet, zip-manifest
    options_used: FormatOptions  # with every detection filled in, to re-run next month
    warnings: list[str] = field(default_factory=list)
    # Non-blank lines above the table (SMHI's station and period): for the description.
    preamble: list[str] = field(default_factory=list)
    # Validation's profile of the Parquet file, from the same scan as ``statistics``.
    profile: Profile | None = None


@dataclass(frozen=True)
class OpaqueFile:
    sha256: str
    size: int
    media_type: str


@dataclass
class NormaliseResult:
    tables: list[NormalisedTable]
    opaque: OpaqueFile | None  # set for non-tabular uploads (and zips without tables)
    manifest: NormalisedTable | None  # for zips of more than one file
    media_type: str  # of the upload as stored
    warnings: list[str] = field(default_factory=list)


class _Counting(io.RawIOBase):
    """Reports bytes consumed from the upload to ``progress``."""

    def __init__(self, raw: BinaryIO, progress: Callable[[int], None] | None) -> None:
        self._raw = raw
        self._progress = progress
        self._total = 0

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._raw.close()
        super().close()

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._raw.read(len(target))
        target[: len(data)] = data
        self._total += len(data)
        if self._progress is not None and data:
            self._progress(self._total)
        return len(data)


@dataclass
class _Found:
    tables: list[WrittenTable] = field(default_factory=list)
    media_type: str = "application/octet-stream"
    opaque: bool = False
    manifest: WrittenTable | None = None
    warnings: list[str] = field(default_factory=list)


class _Run:
    def __init__(
        self, options: FormatOptions, work_dir: Path, detected: Callable[[str], None] | None
    ) -> None:
        self.options = options
        self.work_dir = work_dir
        self.detected = detected
        self.outputs: list[Path] = []
        self.spools: list[Path] = []
        self.run_id = uuid.uuid4().hex[:8]

    def next_path(self) -> Path:
        path = self.work_dir / f"table-{self.run_id}-{len(self.outputs) + 1:03d}.parquet"
        self.outputs.append(path)
        return path

    def spool(self, opener: Opener) -> Path:
        """Copy a stream to local disk, for formats that need to seek."""
        path = self.work_dir / f".spool-{self.run_id}-{len(self.spools) + 1}"
        self.spools.append(path)
        with opener() as source, path.open("wb") as target:
            shutil.copyfileobj(source, target, 1 << 20)
        return path

    def content(self, opener: Opener, name: str, where: Location, *, nested: bool) -> _Found:
        """What one stream holds; ``nested``: inside an archive already (no more unpacking)."""
        with opener() as stream:
            head, _ = read_head(stream, HEAD_BYTES)
        del stream  # a closed stream may still hold its buffers while the tables are read
        found = detect(name, head, self.options.format, where=where)
        if not nested and self.detected is not None:
            self.detected(found.media_type)  # the upload's media type, as the result's
        notes = []
        if found.renamed_from:
            notes.append(f"named as {found.renamed_from} but holds {found.media_type}")
        stem = posixpath.basename(name)
        stem = stem[: -len(extension(stem))] if extension(stem) else stem
        table_name = where.member or stem
        options, kind = self.options, found.kind
        if kind == "gzip" and not nested:
            limits = options.limits
            inner = self.content(
                lambda: open_gzip(opener(), limits, where), inner_name(name), where, nested=True
            )
            inner.warnings[:0] = notes
            # A .tar.gz and the like is one opaque file: the upload itself.
            inner.media_type = found.media_type
            return inner
        if kind == "zip" and not nested:
            return self._zip(opener, where, notes)
        tables: list[WrittenTable] = []
        if kind in ("csv", "text"):
            table = read_delimited(
                opener,
                name=table_name,
                out_path=self.next_path(),
                options=options,
                where=where,
                prefer_tab=extension(name) in (".tsv", ".tab"),
                require_delimiter=kind == "text",
            )
            tables = [table] if table is not None else []
        elif kind in ("json", "jsonl"):
            tables = [
                read_json(
                    opener,
                    name=table_name,
                    out_path=self.next_path(),
                    options=options,
                    where=where,
                    source_format=kind,
                )
            ]
        elif kind == "xlsx":
            tables = read_excel(
                self.spool(opener), options=options, where=where, next_path=self.next_path
            )
            if where.member:
                for t in tables:
                    t.name = f"{where.member}:{t.name}"
        elif kind == "parquet":
            tables = [
                read_parquet(
                    self.spool(opener),
                    name=table_name,
                    out_path=self.next_path(),
                    options=options,
                    where=where,
                )
            ]
        return _Found(tables, found.media_type, opaque=not tables, warnings=notes)

    def _zip(self, opener: Opener, where: Location, notes: list[str]) -> _Found:
        archive = ZipArchive(self.spool(opener), self.options.limits, where)
        try:
            if not archive.members:
                raise IngestError("empty-file", "the zip archive holds no files", where)
            found = _Found(media_type="application/zip", warnings=notes)
            for member in archive.members:
                if is_junk(member.path) or member.size == 0:
                    continue
                at = Location(file=where.file, member=member.path)
                inner = self.content(archive.opener(member), member.path, at, nested=True)
                found.tables += inner.tables
                found.warnings += [f"{member.path}: {w}" for w in inner.warnings]
            if len(archive.members) > 1:
                found.manifest, _ = write_manifest(
                    archive, out_path=self.next_path(), name="manifest", options=self.options
                )
            found.opaque = not found.tables
            return found
        finally:
            archive.close()

    def finish(self, table: WrittenTable) -> NormalisedTable:
        # What Arrow's allocator kept from reading goes back to the system before DuckDB
        # takes its own memory for the statistics.
        pa.default_memory_pool().release_unused()
        stats = table_statistics(table.path, table.schema)
        aliases = sql_aliases(table.schema.names)
        columns = [
            ColumnInfo(f.name, alias, str(f.type))
            for f, alias in zip(table.schema, aliases, strict=True)
        ]
        return NormalisedTable(
            name=table.name,
            parquet_path=table.path,
            row_count=table.row_count,
            arrow_schema=table.schema,
            columns=columns,
            statistics=stats.columns,
            source_format=table.source_format,
            options_used=table.options_used,
            warnings=table.warnings,
            preamble=table.preamble,
            profile=stats.profile,
        )


def normalise(
    open_source: Callable[[], BinaryIO],
    *,
    filename: str,
    options: FormatOptions | None = None,
    work_dir: Path,
    progress: Callable[[int], None] | None = None,
    detected: Callable[[str], None] | None = None,
) -> NormaliseResult:
    """Read an upload and write its tables as Parquet under ``work_dir``.

    ``open_source()`` must return a fresh stream of the upload from its start on every call
    (it is called more than once: to detect, to sniff, to read, sometimes to read again).
    ``detected`` is told the upload's media type (the result's ``media_type``) as soon as
    it is known, before the tables are read.
    """
    run = _Run(options or FormatOptions(), work_dir, detected)
    work_dir.mkdir(parents=True, exist_ok=True)
    where = Location(file=posixpath.basename(filename.replace("\\", "/")))

    def opener() -> BinaryIO:
        return cast(BinaryIO, io.BufferedReader(_Counting(open_source(), progress), 1 << 20))

    try:
        found = run.content(opener, filename, where, nested=False)
        tables = [run.finish(t) for t in found.tables]
        manifest = run.finish(found.manifest) if found.manifest else None
        opaque = None
        if found.opaque:
            sha, size, _ = checksum(opener())
            opaque = OpaqueFile(sha, size, found.media_type)
        return NormaliseResult(tables, opaque, manifest, found.media_type, found.warnings)
    except BaseException:
        for path in run.outputs:
            path.unlink(missing_ok=True)
        raise
    finally:
        for path in run.spools:
            path.unlink(missing_ok=True)
