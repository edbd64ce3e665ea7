"""What an upload is: from its file name and its first bytes to a kind and a media type.

Magic bytes win over the name for containers and binary formats (a ``.csv`` that is really
gzip is decompressed); a name that promises text over bytes that are binary is an error
(``binary-content``), because storing it as a table would publish garbage.

Kinds: ``csv`` (any delimited text), ``text`` (text of unknown layout: a table if a delimiter
is found, else an opaque file), ``json``, ``jsonl``, ``xlsx``, ``parquet``, ``gzip``, ``zip``,
``opaque``.
"""

from __future__ import annotations

import mimetypes
import posixpath
from dataclasses import dataclass

from ingest.errors import IngestError, Location

HEAD_BYTES = 64 << 10

MEDIA_TYPES = {
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "text": "text/plain",
    "json": "application/json",
    "jsonl": "application/x-ndjson",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "parquet": "application/vnd.apache.parquet",
    "gzip": "application/gzip",
    "zip": "application/zip",
}

# (offset, magic, media type); checked in order, first match wins.
_MAGIC: list[tuple[int, bytes, str]] = [
    (0, b"PAR1", MEDIA_TYPES["parquet"]),
    (0, b"\x1f\x8b", MEDIA_TYPES["gzip"]),
    (0, b"PK\x03\x04", MEDIA_TYPES["zip"]),
    (0, b"PK\x05\x06", MEDIA_TYPES["zip"]),
    (0, b"%PDF-", "application/pdf"),
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"II*\x00", "image/tiff"),
    (0, b"MM\x00*", "image/tiff"),
    (0, b"fLaC", "audio/flac"),
    (0, b"OggS", "audio/ogg"),
    (0, b"ID3", "audio/mpeg"),
    (0, b"BZh", "application/x-bzip2"),
    (0, b"\xfd7zXZ\x00", "application/x-xz"),
    (0, b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (0, b"Rar!\x1a\x07", "application/vnd.rar"),
    (0, b"\x28\xb5\x2f\xfd", "application/zstd"),
    (0, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),
    (0, b"SQLite format 3\x00", "application/vnd.sqlite3"),
    (0, b"\x89HDF\r\n\x1a\n", "application/x-hdf5"),
    (0, b"CDF\x01", "application/x-netcdf"),
    (0, b"CDF\x02", "application/x-netcdf"),
    (0, b"ARROW1", "application/vnd.apache.arrow.file"),
    (0, b"\x7fELF", "application/x-executable"),
    (257, b"ustar", "application/x-tar"),
]

_TEXT_EXTENSIONS = {".csv": "csv", ".tsv": "csv", ".tab": "csv", ".txt": "text", ".dat": "text"}
_JSON_EXTENSIONS = {".json": "json", ".geojson": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


@dataclass(frozen=True)
class Detected:
    kind: str
    media_type: str
    # What the name promised when the bytes disagreed (for a warning), else None.
    renamed_from: str | None = None


def extension(filename: str) -> str:
    return posixpath.splitext(filename.lower())[1]


def inner_name(filename: str) -> str:
    """``data.csv.gz`` -> ``data.csv``: the name of what a gzip stream holds."""
    base = posixpath.basename(filename)
    for suffix in (".gz", ".gzip", ".tgz"):
        if base.lower().endswith(suffix):
            base = base[: -len(suffix)] + (".tar" if suffix == ".tgz" else "")
            break
    return base


def magic_media_type(head: bytes) -> str | None:
    for offset, magic, media in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return media
    if head[:4] == b"RIFF" and head[8:12] in (b"WAVE", b"WEBP", b"AVI "):
        return {b"WAVE": "audio/wav", b"WEBP": "image/webp", b"AVI ": "video/x-msvideo"}[head[8:12]]
    if head[4:8] == b"ftyp":
        return "audio/mp4" if head[8:11] == b"M4A" else "video/mp4"
    if head[:2] == b"\xff\xfb" or head[:2] == b"\xff\xf3":
        return "audio/mpeg"
    return None


def binary_offset(head: bytes) -> int | None:
    """Offset of the first byte that text never holds (NUL, most C0 controls), or None."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None  # UTF-16 with a BOM: NUL bytes are expected
    controls = bytes(range(0, 9)) + bytes(range(14, 27)) + bytes(range(28, 32))
    stripped = head.translate(None, controls)
    if len(stripped) == len(head):
        return None
    bad = len(head) - len(stripped)
    if b"\x00" in head or bad * 200 > len(head):
        # One stray control character in a big text is tolerated (it becomes data); NUL or
        # many of them mean the bytes are not text at all.
        return next(i for i, byte in enumerate(head) if byte in controls)
    return None


def _looks_like_xlsx(filename: str, head: bytes) -> bool:
    return extension(filename) in (".xlsx", ".xlsm") or (
        b"[Content_Types].xml" in head and b"xl/" in head
    )


def _guess_media_type(filename: str) -> str:
    guessed, _ = mimetypes.guess_type(filename, strict=False)
    return guessed or "application/octet-stream"


def detect(
    filename: str, head: bytes, forced: str | None = None, where: Location | None = None
) -> Detected:
    """Classify an upload from its name and its first bytes (``HEAD_BYTES`` are plenty).

    ``forced`` (``FormatOptions.format``) overrides the kind of non-container content.
    """
    where = where or Location(file=filename)
    if not head:
        raise IngestError("empty-file", "the file is empty", where)
    ext = extension(filename)
    magic = magic_media_type(head)
    claimed = (
        _TEXT_EXTENSIONS.get(ext)
        or _JSON_EXTENSIONS.get(ext)
        or {".xlsx": "xlsx", ".xlsm": "xlsx", ".parquet": "parquet", ".pq": "parquet"}.get(ext)
    )
    if magic == MEDIA_TYPES["gzip"]:
        return Detected("gzip", magic)
    if magic == MEDIA_TYPES["zip"]:
        if forced == "xlsx" or (forced is None and _looks_like_xlsx(filename, head)):
            return Detected("xlsx", MEDIA_TYPES["xlsx"])
        if forced == "opaque":
            return Detected("opaque", magic)
        return Detected("zip", magic, renamed_from=claimed)
    if forced is not None:
        return _forced(forced, filename, head, magic, where)
    if magic == MEDIA_TYPES["parquet"]:
        return Detected("parquet", magic, renamed_from=claimed if claimed != "parquet" else None)
    if claimed in ("xlsx", "parquet"):
        kind = "invalid-excel" if claimed == "xlsx" else "invalid-parquet"
        raise IngestError(kind, f"the file is named {ext} but is not one", where)
    if magic is not None and claimed is None:
        return Detected("opaque", magic)
    offset = binary_offset(head) if magic is None else 0
    if magic is not None or offset is not None:
        if claimed is not None:
            what = f"looks like {magic}" if magic else "holds non-text bytes"
            raise IngestError(
                "binary-content",
                f"the file is named {ext} but {what}; it cannot be read as text",
                Location(**{**where.to_dict(), "byte_offset": offset}),
            )
        return Detected("opaque", magic or _guess_media_type(filename))
    if claimed in ("csv", "text"):
        media = MEDIA_TYPES["tsv"] if ext in (".tsv", ".tab") else MEDIA_TYPES[claimed]
        return Detected(claimed, media)
    if claimed in ("json", "jsonl"):
        return Detected(claimed, MEDIA_TYPES[claimed])
    if ext == "" or _guess_media_type(filename) == "application/octet-stream":
        return _sniff_text_kind(head)
    return Detected("opaque", _guess_media_type(filename))


def _sniff_text_kind(head: bytes) -> Detected:
    """Text with no telling name: JSON if it starts like JSON, else maybe a table."""
    for bom in _BOMS:
        if head.startswith(bom):
            head = head[len(bom) :]
            break
    first = head.lstrip()[:1]
    if first in (b"[", b"{"):
        lines = [ln for ln in head.splitlines()[:3] if ln.strip()]
        if first == b"{" and len(lines) > 1 and lines[1].lstrip()[:1] == b"{":
            return Detected("jsonl", MEDIA_TYPES["jsonl"])
        return Detected("json", MEDIA_TYPES["json"])
    return Detected("text", MEDIA_TYPES["text"])


def _forced(
    forced: str, filename: str, head: bytes, magic: str | None, where: Location
) -> Detected:
    if forced == "opaque":
        return Detected("opaque", magic or _guess_media_type(filename))
    if forced == "parquet" and magic != MEDIA_TYPES["parquet"]:
        raise IngestError("invalid-parquet", "format=parquet but no Parquet magic bytes", where)
    if forced == "xlsx":
        raise IngestError("invalid-excel", "format=xlsx but the file is not a zip", where)
    if forced in ("csv", "json", "jsonl"):
        offset = binary_offset(head) if magic is None else 0
        if offset is not None:
            raise IngestError(
                "binary-content",
                f"format={forced} but the file holds non-text bytes",
                Location(**{**where.to_dict(), "byte_offset": offset}),
            )
    return Detected(forced, MEDIA_TYPES.get(forced, "application/octet-stream"))
