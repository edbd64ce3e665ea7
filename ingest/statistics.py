"""Per-column statistics of a written Parquet file, computed by DuckDB in bounded memory.

For each top-level column: ``nulls``, ``distinct``, ``min``, ``max`` and ``top`` (up to five
most common values that occur more than once, with exact counts). ``distinct`` is exact
for tables of up to ``EXACT_DISTINCT_ROWS`` rows and a HyperLogLog estimate above
(``distinct_estimated`` says which); DuckDB's estimate can be 20 % off on small tables.
Nested columns (struct, list, map) get ``nulls`` only.

The scans, each reading only the columns it needs:

1. one aggregate scan for every column's counts, distinct count, min and max, which also
   computes validation's profile of the table (``validation.metrics.profile_query``), so
   that the pipeline's validation does not scan the file for it again;
2. one ``GROUPING SETS`` scan that counts the values of every column whose values repeat
   and which has at most ``GROUP_LIMIT`` of them: the exact five most common, in one hash
   table per column (more such scans only when the columns' values add up to more than
   ``GROUP_LIMIT``);
3. only for columns with more distinct values that still repeat: ``approx_top_k``
   (space-saving) nominates candidates and a last scan counts them exactly, so a column of
   a billion values costs no more memory than one of ten.

DuckDB runs with two threads and a 256 MB memory limit, spilling to a temporary directory
beyond it. The output is plain JSON (dates as ISO strings, NaN as null, long text cut), for
the pipeline to store beside the version.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from validation.metrics import ColumnProfile, Profile, connect, profile_query

TOP_K = 5
MAX_TEXT = 200
COLUMNS_PER_QUERY = 100
GROUPING_COLUMNS = 60  # GROUPING() of a grouping-sets query is a 64-bit mask
MEMORY_LIMIT = "256MB"
THREADS = 2
EXACT_DISTINCT_ROWS = 100_000
# Distinct values counted in the hash tables of one grouping-sets query; a column with more
# is left to approx_top_k.
GROUP_LIMIT = 250_000


@dataclass(frozen=True)
class TableStatistics:
    columns: dict[str, dict[str, Any]]  # JSON, keyed by column name
    profile: Profile  # validation's profile of the same file (``validation.metrics``)


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


def _countable(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def table_statistics(
    parquet_path: Path, schema: pa.Schema, *, threads: int = THREADS
) -> TableStatistics:
    """Statistics keyed by column name and the validation profile (see the module docstring)."""
    rows = pq.ParquetFile(parquet_path).metadata.num_rows
    exact = rows <= EXACT_DISTINCT_ROWS
    stats: dict[str, dict[str, Any]] = {}
    columns: list[ColumnProfile] = []
    with connect(parquet_path, memory_limit=MEMORY_LIMIT, threads=threads) as con:
        con.execute("SET preserve_insertion_order = false")
        con.execute("SET enable_progress_bar = false")
        fields = list(schema)
        for start in range(0, len(fields), COLUMNS_PER_QUERY):
            part, profile = _aggregates(con, fields[start : start + COLUMNS_PER_QUERY], exact)
            stats.update(part)
            columns += profile.columns
        grouped: list[list[str]] = [[]]
        groups = 0  # hash table entries of the last grouping-sets query
        sketched: list[str] = []
        for f in fields:
            distinct = stats[f.name].get("distinct")
            present = rows - stats[f.name]["nulls"]
            # A column of (nearly) unique values has no "most common" ones worth a scan.
            if distinct is None or distinct >= (present if exact else 0.9 * present):
                continue
            if not exact and distinct > GROUP_LIMIT:
                sketched.append(f.name)
                continue
            if len(grouped[-1]) >= GROUPING_COLUMNS or groups + distinct > GROUP_LIMIT:
                grouped.append([])
                groups = 0
            grouped[-1].append(f.name)
            groups += distinct
        for names in grouped:
            _grouped_tops(con, names, stats)
        if sketched:
            _sketched_tops(con, sketched, stats)
    return TableStatistics(stats, Profile(row_count=rows, columns=tuple(columns)))


def column_statistics(
    parquet_path: Path, schema: pa.Schema, *, threads: int = THREADS
) -> dict[str, dict[str, Any]]:
    """Statistics keyed by column name (see the module docstring)."""
    return table_statistics(parquet_path, schema, threads=threads).columns


def _aggregates(
    con: duckdb.DuckDBPyConnection, fields: list[pa.Field], exact: bool
) -> tuple[dict[str, dict[str, Any]], Profile]:
    """One scan: this module's aggregates, then validation's profile of the same columns."""
    exprs = ["count(*)"]
    for f in fields:
        q = _quote(f.name)
        exprs.append(f"count({q})")
        if _scalar(f):
            # NaN sorts above every number in DuckDB; min/max should describe the numbers.
            real = f" FILTER (WHERE NOT isnan({q}))" if pa.types.is_floating(f.type) else ""
            # The estimate is the profile's approx_count_distinct, computed once below.
            exprs += [f"count(DISTINCT {q})"] if exact else []
            exprs += [f"min({q}){real}", f"max({q}){real}"]
    query = profile_query(pa.schema(fields))
    row = con.execute(f"SELECT {', '.join(exprs + list(query.selects))} FROM src").fetchone()
    assert row is not None  # an aggregate without GROUP BY always returns one row
    profile = query.profile(row[len(exprs) :])
    total, values = row[0], list(row[1 : len(exprs)])
    stats: dict[str, dict[str, Any]] = {}
    for f, col in zip(fields, profile.columns, strict=True):
        present = values.pop(0)
        entry: dict[str, Any] = {"nulls": total - present}
        if _scalar(f):
            distinct = values.pop(0) if exact else col.distinct_count
            low, high = values.pop(0), values.pop(0)
            entry.update(distinct=distinct, distinct_estimated=not exact)
            entry.update(min=jsonable(low), max=jsonable(high), top=[])
        stats[f.name] = entry
    return stats, profile


def _grouped_tops(
    con: duckdb.DuckDBPyConnection, names: list[str], stats: dict[str, dict[str, Any]]
) -> None:
    """The exact most common values of ``names``, counted in one scan with grouping sets."""
    if not names:
        return
    cols = ", ".join(_quote(n) for n in names)
    sets = ", ".join(f"({_quote(n)})" for n in names)
    # One row per value of one column; the other columns are NULL in it, so ordering by
    # all of them orders by that column's values (a stable choice among equal counts).
    # TOP_K + 1 per column: a NULL group may take one of the places.
    # No aliases: a column may be called anything, "n" too.
    sql = (
        f"SELECT GROUPING({cols}), {cols}, count(*) FROM src GROUP BY GROUPING SETS ({sets})"
        f" QUALIFY row_number() OVER (PARTITION BY GROUPING({cols})"
        f" ORDER BY count(*) DESC, {cols}) <= {TOP_K + 1}"
    )
    width = len(names)
    for row in con.execute(sql).fetchall():
        mask, values, count = row[0], row[1:-1], row[-1]
        # GROUPING() sets a bit for each column *not* grouped; the first name is the top bit.
        index = next(i for i in range(width) if not mask >> (width - 1 - i) & 1)
        value = values[index]
        if _countable(value) and count > 1:
            stats[names[index]]["top"].append({"value": jsonable(value), "count": count})
    for name in names:
        top = stats[name]["top"]
        top.sort(key=lambda t: (-t["count"], str(t["value"])))
        del top[TOP_K:]


def _sketched_tops(
    con: duckdb.DuckDBPyConnection, names: list[str], stats: dict[str, dict[str, Any]]
) -> None:
    """Candidates from ``approx_top_k`` for columns of many values, then exact counts."""
    sketches = ", ".join(f"approx_top_k({_quote(n)}, {TOP_K})" for n in names)
    tops = con.execute(f"SELECT {sketches} FROM src").fetchone()
    assert tops is not None
    candidates = [
        (name, value)
        for name, top in zip(names, tops, strict=True)
        for value in top or []
        if _countable(value)
    ]
    if not candidates:
        return
    filters = [f"count(*) FILTER (WHERE {_quote(name)} = ?)" for name, _ in candidates]
    counts = con.execute(
        f"SELECT {', '.join(filters)} FROM src", [v for _, v in candidates]
    ).fetchone()
    assert counts is not None
    for (name, value), count in zip(candidates, counts, strict=True):
        if count > 1:
            stats[name]["top"].append({"value": jsonable(value), "count": count})
    for name in names:
        stats[name]["top"].sort(key=lambda t: (-t["count"], str(t["value"])))
