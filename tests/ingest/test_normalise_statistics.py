"""Per-column statistics over the written Parquet (DuckDB, bounded memory, JSON-able)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ingest.statistics import EXACT_DISTINCT_ROWS, column_statistics, table_statistics
from validation.metrics import compute_profile


def _stats(tmp_path: Path, table: pa.Table) -> dict[str, dict[str, Any]]:
    path = tmp_path / "t.parquet"
    pq.write_table(table, path)
    stats = column_statistics(path, table.schema)
    json.dumps(stats)
    return stats


def test_values(tmp_path: Path) -> None:
    table = pa.table(
        {
            "ort": ["Borås", "Kiruna", "Borås", None, "Göteborg", "Borås", "Kiruna"],
            "n": [3, 1, 3, 2, None, 3, 7],
            "temp": [-0.5, float("nan"), 1.5, None, 2.0, 2.0, 0.0],
            "datum": [dt.date(2024, 1, d) for d in (1, 2, 2, 3, 4, 5, 6)],
            "'quoted\" name": [1, 1, 1, 1, 1, 1, 1],
            "nested": [{"a": 1}, None, {"a": 2}, None, None, {"a": 1}, {"a": 3}],
        }
    )
    stats = _stats(tmp_path, table)
    assert stats["ort"] == {
        "nulls": 1,
        "distinct": 3,
        "distinct_estimated": False,
        "min": "Borås",
        "max": "Kiruna",
        "top": [{"value": "Borås", "count": 3}, {"value": "Kiruna", "count": 2}],
    }
    assert stats["n"]["top"] == [{"value": 3, "count": 3}]
    assert (stats["n"]["min"], stats["n"]["max"], stats["n"]["nulls"]) == (1, 7, 1)
    assert (stats["temp"]["min"], stats["temp"]["max"]) == (-0.5, 2.0)  # NaN left out
    assert stats["datum"]["min"] == "2024-01-01" and stats["datum"]["top"] == [
        {"value": "2024-01-02", "count": 2}
    ]
    assert stats["'quoted\" name"]["distinct"] == 1
    assert stats["nested"] == {"nulls": 3}


def test_large_tables_estimate_distinct(tmp_path: Path) -> None:
    rows = EXACT_DISTINCT_ROWS + 1
    table = pa.table({"id": pa.array(range(rows)), "text": pa.array(["x" * 300] * rows)})
    stats = _stats(tmp_path, table)
    assert stats["id"]["distinct_estimated"] is True
    assert abs(stats["id"]["distinct"] - rows) / rows < 0.3
    assert stats["id"]["top"] == []  # nothing repeats
    assert stats["text"]["max"] == "x" * 200 + "…"  # long text is cut
    assert stats["text"]["top"][0]["count"] == rows


def test_the_most_common_values_are_counted_exactly(tmp_path: Path) -> None:
    """Above EXACT_DISTINCT_ROWS: the true five most common values, even in a sorted file
    whose start shows only one of them, and none for a column of unique values."""
    rows = EXACT_DISTINCT_ROWS + 50_000
    weights = [40, 25, 15, 10, 6, 3, 1]  # per cent; "k6" is the first left out
    codes = [f"k{i}" for i, w in enumerate(weights) for _ in range(rows * w // 100)]
    codes += ["k0"] * (rows - len(codes))
    table = pa.table(
        {
            "kod": sorted(codes, reverse=True),  # the rarest first
            "n": [i % 7 for i in range(rows)],  # named like an alias a query might use
            "id": pa.array(range(rows)),
        }
    )
    stats = _stats(tmp_path, table)
    assert [t["value"] for t in stats["kod"]["top"]] == ["k0", "k1", "k2", "k3", "k4"]
    assert [t["count"] for t in stats["kod"]["top"]][1:] == [rows * w // 100 for w in weights[1:5]]
    assert sum(t["count"] for t in stats["n"]["top"]) == sum(1 for i in range(rows) if i % 7 < 5)
    assert stats["id"]["top"] == []


def test_the_profile_for_validation_comes_from_the_same_scan(tmp_path: Path) -> None:
    table = pa.table(
        {
            "ort": ["Borås", "Kiruna", None, "Borås"],
            "n": [3, None, 3, 7],
            "temp": [-0.5, float("nan"), 1.5, None],
            "datum": [dt.date(2024, 1, d) for d in (1, 2, 2, 3)],
            "nested": [{"a": 1}, None, {"a": 2}, None],
        }
    )
    path = tmp_path / "t.parquet"
    pq.write_table(table, path)
    stats = table_statistics(path, table.schema)
    assert stats.profile == compute_profile(path)
    assert stats.columns == column_statistics(path, table.schema)
