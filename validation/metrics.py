"""Dataset-level metrics computed with DuckDB straight over the Parquet files.

Everything here is an aggregate over the whole table (row count, null and distinct counts,
min/max/mean, key uniqueness): DuckDB computes all of them in one streaming scan with a
bounded memory budget (it spills to a temporary directory past ``memory_limit``), so tables
larger than memory are profiled without loading them.

The result, :class:`Profile`, is saved as JSON next to a version and handed to the next
version's default suite (drift and schema checks; see ``validation.defaults``).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal
from typing import Any, Literal, TypeAlias

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

ColumnKind = Literal["numeric", "temporal", "string", "boolean", "binary", "nested", "other"]
Scalar = int | float | str | bool | None
# A Parquet file, several parts of one table, or Arrow data already in memory.
Source: TypeAlias = str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | pa.Table

PROFILE_FORMAT = "datahamn.validation.profile/1"
DEFAULT_MEMORY_LIMIT = "512MB"


def column_kind(dtype: pa.DataType) -> ColumnKind:
    """The family of an Arrow type, which decides which metrics and checks apply."""
    t = pa.types
    if t.is_dictionary(dtype):
        return column_kind(dtype.value_type)
    if t.is_integer(dtype) or t.is_floating(dtype) or t.is_decimal(dtype):
        return "numeric"
    if t.is_temporal(dtype):
        return "temporal"
    if t.is_string(dtype) or t.is_large_string(dtype) or t.is_string_view(dtype):
        return "string"
    if t.is_boolean(dtype):
        return "boolean"
    if t.is_binary(dtype) or t.is_large_binary(dtype) or t.is_fixed_size_binary(dtype):
        return "binary"
    if t.is_nested(dtype):
        return "nested"
    return "other"


def quote_ident(name: str) -> str:
    """A column name as a DuckDB identifier (names come from publishers' files)."""
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class ColumnProfile:
    name: str
    type: str
    kind: ColumnKind
    null_count: int
    # HyperLogLog estimate (a few per cent off): exact counts are only paid for on request.
    distinct_count: int | None = None
    exact_distinct_count: int | None = None
    # Numeric and temporal columns only; temporal values as ISO 8601 text (UTC).
    min: Scalar = None
    max: Scalar = None
    mean: float | None = None


@dataclass(frozen=True)
class KeyProfile:
    """Uniqueness of one (possibly compound) key over rows where it is not entirely null."""

    columns: tuple[str, ...]
    rows: int
    distinct: int

    @property
    def unique(self) -> bool:
        return self.rows == self.distinct


@dataclass(frozen=True)
class Profile:
    row_count: int
    columns: tuple[ColumnProfile, ...]
    keys: tuple[KeyProfile, ...] = ()
    format: str = field(default=PROFILE_FORMAT)

    def column(self, name: str) -> ColumnProfile | None:
        return next((c for c in self.columns if c.name == name), None)

    def key(self, columns: Sequence[str]) -> KeyProfile | None:
        return next((k for k in self.keys if k.columns == tuple(columns)), None)

    def null_fraction(self, name: str) -> float | None:
        col = self.column(name)
        if col is None:
            return None
        return col.null_count / self.row_count if self.row_count else 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Profile:
        if data.get("format", PROFILE_FORMAT) != PROFILE_FORMAT:
            raise ValueError(f"unsupported profile format {data.get('format')!r}")
        return cls(
            row_count=int(data["row_count"]),
            columns=tuple(ColumnProfile(**c) for c in data["columns"]),
            keys=tuple(
                KeyProfile(columns=tuple(k["columns"]), rows=k["rows"], distinct=k["distinct"])
                for k in data.get("keys", ())
            ),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Profile:
        return cls.from_dict(json.loads(text))


def read_schema(source: Source) -> pa.Schema:
    """The Arrow schema of a source, read from Parquet footers only."""
    if isinstance(source, pa.Table):
        return source.schema
    return pq.read_schema(_paths(source)[0])


def _paths(source: Source) -> list[str]:
    if isinstance(source, pa.Table):
        raise TypeError("an Arrow table has no paths")
    if isinstance(source, str | os.PathLike):
        return [os.fspath(source)]
    paths = [os.fspath(p) for p in source]
    if not paths:
        raise ValueError("no Parquet files given")
    return paths


@contextmanager
def connect(
    source: Source, *, memory_limit: str = DEFAULT_MEMORY_LIMIT, threads: int | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB connection with the source visible as the view ``src``."""
    config: dict[str, Any] = {
        "memory_limit": memory_limit,
        # No extension may be fetched or loaded behind our back: validation never touches
        # the network, and only the built-in Parquet reader is needed.
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        # DuckDB keeps the bytes it reads from a file in its buffer pool for a later query,
        # up to memory_limit, and that memory stays with the process once the connection
        # closes: a statistics scan then peaked at 266 MB on a 224 MB file and 350 MB on a
        # 946 MB one. Without the cache the peak stays flat as the file grows; a second scan
        # of the same file reads it from the OS's page cache, at no measurable CPU cost.
        "enable_external_file_cache": False,
    }
    if threads:
        config["threads"] = threads
    with tempfile.TemporaryDirectory(prefix="datahamn-duckdb-") as spill:
        config["temp_directory"] = spill
        con = duckdb.connect(":memory:", config=config)
        try:
            con.execute("SET TimeZone = 'UTC'")
            if isinstance(source, pa.Table):
                con.register("src", source)
            else:
                con.read_parquet(_paths(source)).create_view("src")
            yield con
        finally:
            con.close()


@dataclass(frozen=True)
class ProfileQuery:
    """The aggregates of a profile, for a caller to put into a scan of its own.

    ``ingest.statistics`` adds these to its one aggregate scan of a new table, so that
    validation can take the profile from there instead of scanning the file again.
    """

    schema: pa.Schema
    selects: tuple[str, ...]  # SQL aggregates over ``src``; the first is count(*)
    plan: tuple[tuple[str, str], ...]  # (column, metric) of selects[1 : 1 + len(plan)]
    keys: tuple[tuple[str, ...], ...]  # two selects each after the plan's

    def profile(self, row: Sequence[Any], base: Profile | None = None) -> Profile:
        """The profile from the values of ``selects``; ``base`` supplies what was left out."""
        values: dict[str, dict[str, Any]] = {f.name: {} for f in self.schema}
        for (name, metric), value in zip(self.plan, row[1 : 1 + len(self.plan)], strict=True):
            values[name][metric] = _json_scalar(value)
        rest = row[1 + len(self.plan) :]
        keys = tuple(
            KeyProfile(columns=key, rows=int(rest[2 * i]), distinct=int(rest[2 * i + 1]))
            for i, key in enumerate(self.keys)
        )
        if base is not None:
            columns = tuple(replace(c, **values.get(c.name, {})) for c in base.columns)
            return Profile(row_count=base.row_count, columns=columns, keys=keys)
        return Profile(
            row_count=int(row[0]),
            columns=tuple(
                ColumnProfile(
                    name=f.name, type=str(f.type), kind=column_kind(f.type), **values[f.name]
                )
                for f in self.schema
            ),
            keys=keys,
        )


def profile_query(
    schema: pa.Schema,
    *,
    keys: Sequence[Sequence[str]] = (),
    exact_distinct: Sequence[str] = (),
    columns: bool = True,
) -> ProfileQuery:
    """The aggregates of ``compute_profile``; ``columns=False``: only keys and exact counts."""
    selects = ["count(*)"]
    plan: list[tuple[str, str]] = []  # (column, metric) in select order
    for f in schema:
        q, kind = quote_ident(f.name), column_kind(f.type)
        if columns:
            plan.append((f.name, "null_count"))
            selects.append(f"count(*) - count({q})")
            if kind not in ("nested", "other"):
                plan.append((f.name, "distinct_count"))
                selects.append(f"approx_count_distinct({q})")
        if f.name in exact_distinct:
            plan.append((f.name, "exact_distinct_count"))
            selects.append(f"count(DISTINCT {q})")
        if columns and kind == "numeric":
            plan += [(f.name, "min"), (f.name, "max"), (f.name, "mean")]
            selects += [f"min({q})", f"max({q})", f"avg({q})"]
        elif columns and kind == "temporal":
            plan += [(f.name, "min"), (f.name, "max")]
            selects += [f"CAST(min({q}) AS VARCHAR)", f"CAST(max({q}) AS VARCHAR)"]
    key_list = [tuple(k) for k in dict.fromkeys(tuple(k) for k in keys) if k]
    for key in key_list:
        present = " OR ".join(f"{quote_ident(c)} IS NOT NULL" for c in key)
        tup = quote_ident(key[0]) if len(key) == 1 else f"({', '.join(map(quote_ident, key))})"
        selects += [
            f"count(*) FILTER (WHERE {present})",
            f"count(DISTINCT {tup}) FILTER (WHERE {present})",
        ]
    return ProfileQuery(schema, tuple(selects), tuple(plan), tuple(key_list))


def compute_profile(
    source: Source,
    *,
    keys: Sequence[Sequence[str]] = (),
    exact_distinct: Sequence[str] = (),
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    threads: int | None = None,
    base: Profile | None = None,
) -> Profile:
    """Profile every column and the given keys in one scan.

    ``keys``: column lists whose uniqueness is measured exactly (``count(DISTINCT …)``).
    ``exact_distinct``: columns whose exact distinct count is wanted besides the estimate.
    Columns named in ``keys``/``exact_distinct`` must exist (callers check against the schema).
    ``base``: the profile of the same data computed already (``ingest.statistics``); only
    the keys and exact distinct counts are then scanned for, and none if none are asked.
    """
    schema = read_schema(source)
    query = profile_query(schema, keys=keys, exact_distinct=exact_distinct, columns=base is None)
    if base is not None and len(query.selects) == 1:
        return query.profile([base.row_count], base)
    with connect(source, memory_limit=memory_limit, threads=threads) as con:
        row = con.execute(f"SELECT {', '.join(query.selects)} FROM src").fetchone()
    assert row is not None  # an aggregate without GROUP BY always returns one row
    return query.profile(row, base)


def duplicate_sample(
    source: Source,
    columns: Sequence[str],
    *,
    limit: int = 5,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
) -> tuple[int, list[Any]]:
    """Rows whose key value occurs more than once, and up to ``limit`` of those values.

    Only run after the cheap count comparison found duplicates: this one groups by the key.
    """
    cols = ", ".join(quote_ident(c) for c in columns)
    # A compound key's value is reported as {column: value} (a DuckDB struct).
    fields = ", ".join("'" + c.replace("'", "''") + "': " + quote_ident(c) for c in columns)
    value = quote_ident(columns[0]) if len(columns) == 1 else "{" + fields + "}"
    present = " OR ".join(f"{quote_ident(c)} IS NOT NULL" for c in columns)
    sql = (
        f"WITH d AS (SELECT {cols}, count(*) AS n FROM src WHERE {present} "
        f"GROUP BY ALL HAVING count(*) > 1) "
        f"SELECT (SELECT coalesce(sum(n), 0) FROM d), "
        f"(SELECT list({value}) "
        f"FROM (SELECT * FROM d ORDER BY n DESC LIMIT {int(limit)}))"
    )
    with connect(source, memory_limit=memory_limit) as con:
        row = con.execute(sql).fetchone()
    assert row is not None
    sample = [_json_value(v) for v in (row[1] or [])]
    return int(row[0]), sample


def _json_scalar(value: Any) -> Scalar:
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float) and not math.isfinite(value):
        # JSON has no NaN/inf; a profile is compared with tolerances, so "unknown" is honest.
        return None
    if value is None or isinstance(value, int | float | str | bool):
        return value
    return str(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    return _json_scalar(value)
