"""Files that are not tables (images, audio, PDFs, archives): checksum and media type.

Zip archives also get a manifest table (path, size, sha256, media type) so a data
scientist can see what is inside without downloading it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa

from ingest.errors import IngestError
from ingest.formats import HEAD_BYTES, Detected, detect
from ingest.options import FormatOptions
from ingest.readers.archives import READ_SIZE, ZipArchive
from ingest.readers.sink import ParquetSink, WrittenTable

MANIFEST_SCHEMA = pa.schema(
    [
        pa.field("path", pa.string(), nullable=False),
        pa.field("size", pa.int64(), nullable=False),
        pa.field("sha256", pa.string(), nullable=False),
        pa.field("media_type", pa.string(), nullable=False),
    ]
)


def checksum(stream: BinaryIO) -> tuple[str, int, bytes]:
    """(sha256 hex, size, first bytes) of a stream, read once in bounded chunks."""
    digest = hashlib.sha256()
    size = 0
    head = b""
    with stream:
        while chunk := stream.read(READ_SIZE):
            if len(head) < HEAD_BYTES:
                head += chunk[: HEAD_BYTES - len(head)]
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size, head


def media_type_of(name: str, head: bytes) -> str:
    """The media type of a member, never failing: bad content is still a file."""
    if not head:
        return "application/octet-stream"
    try:
        found: Detected = detect(name, head)
    except IngestError:
        return "application/octet-stream"
    return found.media_type


def write_manifest(
    archive: ZipArchive, *, out_path: Path, name: str, options: FormatOptions
) -> tuple[WrittenTable, dict[str, str]]:
    """The manifest table of a zip, and each member's media type by path."""
    sink = ParquetSink(out_path, MANIFEST_SCHEMA)
    media: dict[str, str] = {}
    try:
        rows: dict[str, list[object]] = {f.name: [] for f in MANIFEST_SCHEMA}
        for member in archive.members:
            opener: Callable[[], BinaryIO] = archive.opener(member)
            sha, size, head = checksum(opener())
            media[member.path] = media_type_of(member.path, head)
            for key, value in zip(rows, (member.path, size, sha, media[member.path]), strict=True):
                rows[key].append(value)
            if len(rows["path"]) >= 10_000:
                sink.write(pa.table(rows, schema=MANIFEST_SCHEMA))
                rows = {f.name: [] for f in MANIFEST_SCHEMA}
        sink.write(pa.table(rows, schema=MANIFEST_SCHEMA))
        count = sink.close()
    except BaseException:
        sink.abort()
        raise
    table = WrittenTable(
        name=name,
        path=out_path,
        row_count=count,
        schema=MANIFEST_SCHEMA,
        source_format="zip-manifest",
        options_used=options,
    )
    return table, media
