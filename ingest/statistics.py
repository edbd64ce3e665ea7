"""Per-column statistics of a written Parquet file, computed by DuckDB in bounded memory.

For each top-level column: ``nulls``, ``distinct``, ``min``, ``max`` and ``top`` (up to five
most common values that occur more than once, with exact counts). ``distinct`` is exact
for tables of up to ``EXACT_DISTINCT_ROWS`` rows and a HyperLogLog estimate above
(``distinct_estimated`` says which); DuckDB's estimate can be 20 % off on small tables.
Otherwise only sketches and running aggregates are kept: ``approx_top_k`` (space-saving)
nominates the candidates and a second scan counts them exactly, so a column of a billion
unique ids costs no more memory than one of ten values. Nested columns (struct, list,
map) get ``nulls`` only.

The output is plain JSON (dates as ISO strings, NaN as null, long text cut), for the
pipeline to store beside the version.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

TOP_K = 5
MAX_TEXT = 200
COLUMNS_PER_QUERY = 100
MEMORY_LIMIT = "256MB"
EXACT_DISTINCT_ROWS = 100_000


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _scalar(field: pa.Field) -> bool:
    t = field.type
    if pa.types.is_dictionary(t):
        t = t.value_type
    return not (
        pa.types.is_nested(t) or pa.types.is_binary(t) or pa.types.is_large_binary(t)
    ) and not pa.types.is_null(t)


def jsonable(value: Any) -> Any:
    """A statistic value as JSON: ISO dates, no NaN/inf, text cut to MAX_TEXT characters."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value[:32].hex()
    text = str(value)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"


def column_statistics(
    parquet_path: Path, schema: pa.Schema, *, threads: int = 2
) -> dict[str, dict[str, Any]]:
    """Statistics keyed by column name (see the module docstring)."""
    con = duckdb.connect(config={"threads": threads, "memory_limit": MEMORY_LIMIT})
    try:
        con.execute("SET preserve_insertion_order = false")
        source = "read_parquet('" + str(parquet_path).replace("'", "''") + "')"
        exact = pq.ParquetFile(parquet_path).metadata.num_rows <= EXACT_DISTINCT_ROWS
        out: dict[str, dict[str, Any]] = {}
        fields = list(schema)
        for start in range(0, len(fields), COLUMNS_PER_QUERY):
            out.update(_batch(con, source, fields[start : start + COLUMNS_PER_QUERY], exact))
        return out
    finally:
        con.close()


def _batch(
    con: duckdb.DuckDBPyConnection, source: str, fields: list[pa.Field], exact: bool
) -> dict[str, dict[str, Any]]:
    """Three narrow scans: aggregates; top-k sketches where values repeat; exact counts."""
    exprs = ["count(*)"]
    for f in fields:
        q = _quote(f.name)
        exprs.append(f"count({q})")
        if _scalar(f):
            # NaN sorts above every number in DuckDB; min/max should describe the numbers.
            real = f" FILTER (WHERE NOT isnan({q}))" if pa.types.is_floating(f.type) else ""
            exprs += [
                f"count(DISTINCT {q})" if exact else f"approx_count_distinct({q})",
                f"min({q}){real}",
                f"max({q}){real}",
            ]
    row = con.execute(f"SELECT {', '.join(exprs)} FROM {source}").fetchone()
    assert row is not None
    total, values = row[0], list(row[1:])
    stats: dict[str, dict[str, Any]] = {}
    repeating: list[str] = []
    for f in fields:
        present = values.pop(0)
        entry: dict[str, Any] = {"nulls": total - present}
        if _scalar(f):
            distinct, low, high = (values.pop(0) for _ in range(3))
            entry.update(distinct=distinct, distinct_estimated=not exact)
            entry.update(min=jsonable(low), max=jsonable(high), top=[])
            # A column of (nearly) unique values has no "most common" ones worth a scan.
            if distinct < (present if exact else 0.9 * present):
                repeating.append(f.name)
        stats[f.name] = entry
    if not repeating:
        return stats
    sketches = ", ".join(f"approx_top_k({_quote(n)}, {TOP_K})" for n in repeating)
    tops = con.execute(f"SELECT {sketches} FROM {source}").fetchone()
    assert tops is not None
    candidates = [
        (name, value)
        for name, top in zip(repeating, tops, strict=True)
        for value in top or []
        if value is not None and not (isinstance(value, float) and math.isnan(value))
    ]
    if candidates:
        filters = [f"count(*) FILTER (WHERE {_quote(name)} = ?)" for name, _ in candidates]
        counts = con.execute(
            f"SELECT {', '.join(filters)} FROM {source}", [v for _, v in candidates]
        ).fetchone()
        assert counts is not None
        for (name, value), count in zip(candidates, counts, strict=True):
            if count > 1:
                stats[name]["top"].append({"value": jsonable(value), "count": count})
        for name in repeating:
            stats[name]["top"].sort(key=lambda t: (-t["count"], str(t["value"])))
    return stats
