"""The one error the readers raise for bad input: what is wrong, and where.

``IngestError.problem`` is a stable kebab-case code (tests, API clients and the pipeline's
report switch on it); ``message`` is for the publisher and always names the place (file,
zip member, line, column). Messages quote at most a short excerpt of the input: uploads
may hold personal data, and error texts end up in logs and job reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Every code the readers use, so docs and tests can check they are all described.
PROBLEMS: dict[str, str] = {
    "empty-file": "the file (or the table in it) has no content",
    "binary-content": "a file named as text holds binary bytes",
    "invalid-encoding": "bytes that are not valid in the declared or detected encoding",
    "unsupported-encoding": "an encoding name Python does not know",
    "line-too-long": "a line or quoted record is longer than limits.max_line_bytes",
    "too-many-columns": "more columns than limits.max_columns",
    "ragged-rows": "too many rows with a different number of fields than the header",
    "unterminated-quote": "a quoted field never closes",
    "invalid-value": "a value does not fit a column type forced in options.column_types",
    "truncated-gzip": "a gzip stream that ends early",
    "corrupt-gzip": "a gzip stream with bad data or checksum",
    "invalid-zip": "a zip archive that cannot be read",
    "encrypted-zip": "a zip member is encrypted",
    "decompression-bomb": "expansion beyond the ratio or total-size limit",
    "too-many-members": "an archive with more members than limits.max_members",
    "unsafe-path": "a member path that is absolute, climbs out with '..', or is a link",
    "invalid-json": "JSON that does not parse",
    "json-too-deep": "JSON nested deeper than limits.max_json_depth",
    "invalid-excel": "an .xlsx file that cannot be read",
    "invalid-parquet": "a Parquet file that cannot be read",
    "invalid-options": "format options that contradict each other or the file",
    "upload-incomplete": "the upload being ingested stopped arriving, failed or was cancelled",
}

EXCERPT_CHARS = 40


def excerpt(text: str | bytes, limit: int = EXCERPT_CHARS) -> str:
    """A short, printable quote of the input for an error message (never the whole line)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    text = text.rstrip("\r\n")
    cut = text[:limit]
    return repr(cut + ("…" if len(text) > limit else ""))


@dataclass(frozen=True)
class Location:
    """Where a problem is: the file, the member inside an archive, a line and a column."""

    file: str | None = None
    member: str | None = None
    line: int | None = None
    column: str | None = None
    byte_offset: int | None = None

    def describe(self) -> str:
        parts: list[str] = []
        if self.file:
            parts.append(self.file)
        if self.member:
            parts.append(f"member {self.member!r}")
        if self.line is not None:
            parts.append(f"line {self.line:,}")
        if self.column is not None:
            parts.append(f"column {self.column!r}")
        if self.byte_offset is not None:
            parts.append(f"byte {self.byte_offset:,}")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    def __str__(self) -> str:
        return self.describe()


class IngestError(Exception):
    """Bad input: raised by ``normalise`` and every reader; nothing was produced."""

    def __init__(self, problem: str, message: str, location: Location | None = None) -> None:
        if problem not in PROBLEMS:  # pragma: no cover - a programming error, not bad input
            raise ValueError(f"unknown ingest problem code {problem!r}")
        self.problem = problem
        self.location = location or Location()
        self._what = message
        where = self.location.describe()
        self.message = f"{message} ({where})" if where else message
        super().__init__(self.message)

    def __reduce__(self) -> tuple[Any, ...]:  # survives pickling (worker processes)
        return (type(self), (self.problem, self._what, self.location))

    def to_dict(self) -> dict[str, Any]:
        return {"problem": self.problem, "message": self.message, **self.location.to_dict()}
