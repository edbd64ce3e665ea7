"""Arrow types for JSON records: inferred per value, unified across records, then applied.

A type is ``"null" | "bool" | "int" | "float" | "str" | "json"`` or a ``ListT`` / ``StructT``.
``"json"`` is the escape hatch: values of conflicting types are stored as JSON text, so a
column that is a number in one record and an object in the next loses nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from ingest.errors import IngestError, Location
from ingest.options import Limits
from ingest.readers.passes import Misfit

MAX_STRUCT_FIELDS = 1_000  # more keys than this in a nested object: keep it as JSON text
INT64 = (-(2**63), 2**63 - 1)


@dataclass
class ListT:
    item: JType


@dataclass
class StructT:
    fields: dict[str, JType]


JType = str | ListT | StructT


@dataclass
class JsonBlock:
    records: list[Any]
    lines: list[int]
    chars: int


class _TooDeep(Exception):
    pass


class _Bad(Exception):
    pass


def infer(value: Any, depth: int, max_depth: int) -> JType:
    if depth > max_depth:
        raise _TooDeep
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int" if INT64[0] <= value <= INT64[1] else "json"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, list):
        item: JType = "null"
        for element in value:
            item = unify(item, infer(element, depth + 1, max_depth))
        return ListT(item)
    if isinstance(value, dict):
        fields = {str(k): infer(v, depth + 1, max_depth) for k, v in value.items()}
        return StructT(fields) if len(fields) <= MAX_STRUCT_FIELDS else "json"
    return "json"  # pragma: no cover - json.loads makes nothing else


def unify(a: JType, b: JType) -> JType:
    if isinstance(a, str) and a == b:  # str first: comparing nested types is costly
        return a
    if a == "null":
        return b
    if b == "null":
        return a
    if isinstance(a, str) and isinstance(b, str) and {a, b} == {"int", "float"}:
        return "float"
    if isinstance(a, ListT) and isinstance(b, ListT):
        return ListT(unify(a.item, b.item))
    if isinstance(a, StructT) and isinstance(b, StructT):
        merged = dict(a.fields)
        for key, t in b.fields.items():
            merged[key] = unify(merged[key], t) if key in merged else t
        return StructT(merged) if len(merged) <= MAX_STRUCT_FIELDS else "json"
    return "json"


def settle(t: JType) -> JType:
    """Types Parquet can hold: an object that never had keys becomes JSON text."""
    if isinstance(t, ListT):
        return ListT(settle(t.item))
    if isinstance(t, StructT):
        return StructT({k: settle(v) for k, v in t.fields.items()}) if t.fields else "json"
    return t


def to_arrow(t: JType) -> pa.DataType:
    if isinstance(t, ListT):
        return pa.list_(to_arrow(t.item))
    if isinstance(t, StructT):
        return pa.struct([pa.field(k, to_arrow(v)) for k, v in t.fields.items()])
    return {"bool": pa.bool_(), "int": pa.int64(), "float": pa.float64()}.get(t, pa.string())


def coerce(value: Any, t: JType) -> Any:
    """``value`` in the Python shape Arrow expects for ``t``; ``_Bad`` if it cannot be."""
    if value is None:
        return None
    if t == "json":
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    kind = type(value)
    if t == "str" and kind is str:
        return value
    if t == "int" and kind is int and INT64[0] <= value <= INT64[1]:
        return value
    if t == "float" and kind in (int, float):
        return float(value)
    if t == "bool" and kind is bool:
        return value
    if isinstance(t, ListT) and kind is list:
        return [coerce(v, t.item) for v in value]
    if isinstance(t, StructT) and kind is dict and all(k in t.fields for k in value):
        return {k: coerce(value.get(k), ft) for k, ft in t.fields.items()}
    raise _Bad


def _row(record: Any) -> dict[str, Any]:
    return record if isinstance(record, dict) else {"value": record}


class JsonPlan:
    def __init__(self, limits: Limits, where: Location) -> None:
        self._limits = limits
        self._where = where
        self.root: StructT = StructT({})
        self._settled: StructT = StructT({})
        self.schema = pa.schema([])
        self.warnings: list[str] = []

    def size(self, block: JsonBlock) -> int:
        return block.chars

    def observe(self, block: JsonBlock) -> None:
        root: JType = self.root
        for line, record in zip(block.lines, block.records, strict=True):
            try:
                root = unify(root, infer(_row(record), 0, self._limits.max_json_depth))
            except _TooDeep:
                raise IngestError(
                    "json-too-deep",
                    f"a record is nested deeper than {self._limits.max_json_depth} levels"
                    " (limits.max_json_depth)",
                    Location(**{**self._where.to_dict(), "line": line}),
                ) from None
        assert isinstance(root, StructT)  # top-level rows are always objects
        self.root = root
        if len(root.fields) > self._limits.max_columns:
            raise IngestError(
                "too-many-columns",
                f"the records have {len(root.fields):,} different keys; at most"
                f" {self._limits.max_columns:,} columns are allowed (limits.max_columns)",
                self._where,
            )

    def decide(self) -> pa.Schema:
        if not self.root.fields:
            raise IngestError("empty-file", "the JSON holds no records", self._where)
        self._settled = StructT({k: settle(v) for k, v in self.root.fields.items()})
        self.schema = pa.schema([pa.field(k, to_arrow(t)) for k, t in self._settled.fields.items()])
        return self.schema

    def convert(self, block: JsonBlock) -> pa.Table:
        fields = self._settled.fields
        rows = []
        for line, record in zip(block.lines, block.records, strict=True):
            row = _row(record)
            out = {}
            for key, value in row.items():
                if key not in fields:
                    raise Misfit(key, line, None)
                try:
                    out[key] = coerce(value, fields[key])
                except _Bad:
                    raise Misfit(key, line, json.dumps(value, ensure_ascii=False)[:60]) from None
            rows.append(out)
        return pa.Table.from_pylist(rows, schema=self.schema)
