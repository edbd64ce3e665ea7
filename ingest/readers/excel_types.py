"""Column types for Excel cells: Excel's own types first, the CSV text rules for text cells.

A column of numbers is int64 (all integral) or float64; of dates date32 (all at midnight)
or timestamp; of booleans bool; of text cells whatever ``coltypes`` decides for the text;
anything mixed is text, each value as Excel would show it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from ingest.errors import IngestError, Location, excerpt
from ingest.options import FormatOptions
from ingest.readers.coltypes import ARROW_TYPES, EMPTY, STRING, TextColumn, TextTyper
from ingest.readers.passes import Misfit

X_INT, X_FLOAT, X_BOOL, X_DATE, X_TIMESTAMP = "x-int", "x-float", "x-bool", "x-date", "x-ts"
X_TYPES = {
    X_INT: pa.int64(),
    X_FLOAT: pa.float64(),
    X_BOOL: pa.bool_(),
    X_DATE: pa.date32(),
    X_TIMESTAMP: pa.timestamp("us"),
}
_FITS = {
    X_INT: {"int"},
    X_FLOAT: {"int", "float"},
    X_BOOL: {"bool"},
    X_DATE: {"date"},
    X_TIMESTAMP: {"date", "datetime"},
}


def render(value: Any) -> str:
    """A cell value as text, as Excel shows it (integral numbers without ``.0``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    return str(value)


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int" if -(2**63) <= value < 2**63 else "float"
    if isinstance(value, float):
        return "int" if value.is_integer() and abs(value) < 2**53 else "float"
    if isinstance(value, dt.datetime):
        return "date" if value.time() == dt.time() else "datetime"
    return "str"


@dataclass
class _Column:
    text: TextColumn
    kinds: set[str] = field(default_factory=set)


class ExcelPlan:
    def __init__(
        self, published: list[str], names: list[str], options: FormatOptions, where: Location
    ) -> None:
        self.typer = TextTyper(options)
        self.names = names
        self.unnamed = [not p.strip() for p in published]
        self.missing = set(options.missing_values)
        self.forced = [options.column_types.get(n) for n in names]
        self.columns = [_Column(self.typer.column()) for _ in names]
        self.kinds: list[str] = []
        self.schema = pa.schema([])
        self.where = where

    def _is_missing(self, value: Any) -> bool:
        return value is None or (isinstance(value, str) and value.strip() in self.missing)

    def size(self, block: Any) -> int:
        return int(block.rows) * max(len(self.names), 1) * 8

    def observe(self, block: Any) -> None:
        for col, values in zip(self.columns, block.columns, strict=True):
            texts = []
            for value in values:
                if self._is_missing(value):
                    continue
                kind = _kind_of(value)
                col.kinds.add(kind)
                if kind == "str":
                    texts.append(value)
            if texts and col.kinds == {"str"}:
                self.typer.observe(col.text, pa.array(texts, pa.string()))

    def _decide_one(self, col: _Column, unnamed: bool, forced: str | None) -> str:
        if forced is not None:
            if col.kinds == {"str"} or forced == "string":
                return self.typer.column(forced).kind()
            return {"integer": X_INT, "number": X_FLOAT, "date": X_DATE}[forced]
        if not col.kinds:
            return EMPTY if unnamed else STRING
        if col.kinds == {"str"}:
            return col.text.kind()
        for kind in (X_INT, X_FLOAT, X_BOOL, X_DATE, X_TIMESTAMP):
            if col.kinds <= _FITS[kind]:
                return kind
        return STRING

    def decide(self) -> pa.Schema:
        self.kinds = [
            self._decide_one(c, u, f)
            for c, u, f in zip(self.columns, self.unnamed, self.forced, strict=True)
        ]
        fields = [
            pa.field(n, X_TYPES.get(k) or ARROW_TYPES[k])
            for n, k in zip(self.names, self.kinds, strict=True)
            if k != EMPTY
        ]
        self.schema = pa.schema(fields)
        return self.schema

    def dropped(self) -> list[str]:
        return [n for n, k in zip(self.names, self.kinds, strict=True) if k == EMPTY]

    def convert(self, block: Any) -> pa.Table:
        arrays = []
        for i, (name, kind) in enumerate(zip(self.names, self.kinds, strict=True)):
            values = block.columns[i]
            try:
                arrays.append(self._convert_one(kind, values, name, block.line_of))
            except Misfit as misfit:
                if self.forced[i] is not None:
                    raise IngestError(
                        "invalid-value",
                        f"{excerpt(misfit.value or '')} is not a valid {self.forced[i]}"
                        " (options.column_types)",
                        Location(**{**self.where.to_dict(), "line": misfit.line, "column": name}),
                    ) from None
                raise
        return pa.Table.from_arrays([a for a in arrays if a is not None], schema=self.schema)

    def _convert_one(self, kind: str, values: list[Any], name: str, line_of: Any) -> Any:
        if kind == EMPTY:
            for i, value in enumerate(values):
                if not self._is_missing(value):
                    raise Misfit(name, line_of(i), render(value))
            return None
        if kind == STRING:
            texts = [None if self._is_blank(v) else render(v) for v in values]
            return pa.array(texts, pa.string())
        if kind in X_TYPES:
            fits = _FITS[kind]
            out: list[Any] = []
            for i, value in enumerate(values):
                if self._is_missing(value):
                    out.append(None)
                elif _kind_of(value) in fits:
                    out.append(_as(kind, value))
                else:
                    raise Misfit(name, line_of(i), render(value))
            return pa.array(out, X_TYPES[kind])
        texts = []
        for i, value in enumerate(values):
            if value is not None and not isinstance(value, str):
                raise Misfit(name, line_of(i), render(value))
            texts.append(value)
        return self.typer.convert(kind, pa.array(texts, pa.string()), name, line_of)

    @staticmethod
    def _is_blank(value: Any) -> bool:
        return value is None or (isinstance(value, str) and not value.strip())


def _as(kind: str, value: Any) -> Any:
    if kind == X_INT:
        return int(value)
    if kind == X_FLOAT:
        return float(value)
    if kind == X_DATE:
        return value.date()
    return value
