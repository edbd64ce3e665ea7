"""How to read one upload: the format options and the safety limits.

Every field left as ``None`` is detected from the bytes; ``NormalisedTable.options_used``
holds the options with those detections filled in, and ``to_dict``/``from_dict`` let a
pipeline spec store them as JSON so next month's file is read the same way.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

KINDS = ("csv", "json", "jsonl", "xlsx", "parquet", "opaque")
COLUMN_TYPES = ("string", "integer", "number", "date")
DEFAULT_MISSING = ("", "..", "...", "…", "-", "–", "—")


@dataclass(frozen=True)
class Limits:
    """Bounds that turn hostile or broken input into a clear error instead of a stuck worker."""

    max_line_bytes: int = 1 << 20  # one line, or one quoted record spanning lines
    max_columns: int = 10_000
    # Rows whose field count differs from the table's (trailing empty fields not counted)
    # are padded / cut with a warning while they are at most this share of the rows and at
    # most ``max_ragged_rows``; ten such rows are always tolerated.
    max_ragged_fraction: float = 0.01
    max_ragged_rows: int = 1_000
    max_compression_ratio: float = 250.0
    max_uncompressed_bytes: int = 32 << 30
    max_members: int = 10_000
    max_json_depth: int = 64
    # Column types are decided from the first this-many bytes of text; a later value that
    # does not fit makes the reader scan on and write the file again with the wider type.
    inference_bytes: int = 16 << 20

    def __post_init__(self) -> None:
        for f in fields(self):
            if getattr(self, f.name) <= 0:
                raise ValueError(f"limits.{f.name} must be positive")


@dataclass(frozen=True)
class FormatOptions:
    """Options for reading one upload; ``None`` means "detect from the bytes"."""

    format: str | None = None  # one of KINDS; None: from the name and magic bytes
    encoding: str | None = None  # any Python codec name: utf-8, utf-8-sig, latin-1, cp1252
    delimiter: str | None = None
    quote: str = '"'
    skip_rows: int | None = None  # lines (Excel: rows) before the header or first data row
    header: bool | None = None  # the first row after skip_rows holds the column names
    decimal: str | None = None  # "." or ","; None: decided per column
    # Digit-group separator in numbers. None: spaces (U+0020, U+00A0, U+202F) in numeric
    # columns; "" turns grouping off; "," or "." must be asked for.
    thousands: str | None = None
    missing_values: tuple[str, ...] = DEFAULT_MISSING
    sheet: str | None = None  # Excel: one sheet's name; None: every non-empty sheet
    column_types: dict[str, str] = field(default_factory=dict)  # name -> one of COLUMN_TYPES
    limits: Limits = field(default_factory=Limits)

    def __post_init__(self) -> None:
        if self.format is not None and self.format not in KINDS:
            raise ValueError(f"format must be one of {', '.join(KINDS)}")
        if self.delimiter is not None and len(self.delimiter) != 1:
            raise ValueError("delimiter must be one character")
        if len(self.quote) != 1 or self.quote == self.delimiter:
            raise ValueError("quote must be one character other than the delimiter")
        if self.decimal not in (None, ".", ","):
            raise ValueError("decimal must be '.' or ','")
        if self.thousands is not None and len(self.thousands) > 1:
            raise ValueError("thousands must be one character or ''")
        if self.thousands and self.thousands == self.decimal:
            raise ValueError("thousands and decimal separators must differ")
        if self.skip_rows is not None and self.skip_rows < 0:
            raise ValueError("skip_rows must be zero or more")
        bad = {t for t in self.column_types.values() if t not in COLUMN_TYPES}
        if bad:
            raise ValueError(f"column_types must be among {', '.join(COLUMN_TYPES)}")

    def with_(self, **changes: Any) -> FormatOptions:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able; only what differs from the defaults, so specs stay short."""
        default = FormatOptions()
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "limits":
                limits = {k: v for k, v in asdict(value).items() if v != getattr(Limits(), k)}
                if limits:
                    out["limits"] = limits
            elif value != getattr(default, f.name):
                out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> FormatOptions:
        """The inverse of ``to_dict``; unknown keys are an error (a typo must not pass)."""
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown format options: {', '.join(sorted(unknown))}")
        limits = data.pop("limits", None) or {}
        unknown = set(limits) - {f.name for f in fields(Limits)}
        if unknown:
            raise ValueError(f"unknown limits: {', '.join(sorted(unknown))}")
        if "missing_values" in data:
            data["missing_values"] = tuple(data["missing_values"])
        if "column_types" in data:
            data["column_types"] = dict(data["column_types"])
        return cls(**data, limits=Limits(**limits))
