"""DuckDB metrics over Parquet: the profile, its JSON form, keys and duplicate samples."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from validation.metrics import (
    Profile,
    column_kind,
    compute_profile,
    connect,
    duplicate_sample,
    read_schema,
)

TABLE = pa.table(
    {
        "id": pa.array([1, 2, 2, None, 3], pa.int64()),
        "namn": ["Åsa", "Bo", "Bo", None, 'Ce"ci'],
        "värde": pa.array([1.5, None, 2.5, 3.0, -1.0]),
        "dag": pa.array([date(2024, 1, 2), date(2023, 5, 1), None, None, date(2024, 2, 1)]),
        "tid": pa.array(
            [datetime(2024, 1, 1, 10, tzinfo=UTC)] * 4 + [None], pa.timestamp("us", tz="UTC")
        ),
        "belopp": pa.array([Decimal("1.50")] * 5, pa.decimal128(10, 2)),
        "lista": pa.array([[1], [2, 3], None, [], [4]]),
    }
)


@pytest.fixture
def parquet(tmp_path: Path) -> Path:
    path = tmp_path / "t.parquet"
    pq.write_table(TABLE, path)
    return path


def test_profile_of_every_column(parquet: Path) -> None:
    profile = compute_profile(parquet, keys=[["id"], ["id", "namn"]], exact_distinct=["namn"])
    assert profile.row_count == 5
    by_name = {c.name: c for c in profile.columns}
    assert by_name["id"].null_count == 1
    assert (by_name["id"].min, by_name["id"].max, by_name["id"].mean) == (1, 3, 2.0)
    assert by_name["värde"].kind == "numeric" and by_name["värde"].min == -1.0
    assert by_name["namn"].exact_distinct_count == 3
    assert by_name["namn"].min is None  # text is neither ranged nor averaged
    assert (by_name["dag"].min, by_name["dag"].max) == ("2023-05-01", "2024-02-01")
    assert by_name["tid"].min == "2024-01-01 10:00:00+00"
    assert by_name["belopp"].mean == 1.5
    assert by_name["lista"].kind == "nested" and by_name["lista"].null_count == 1
    assert 2 <= (by_name["id"].distinct_count or 0) <= 4  # an estimate
    key = profile.key(["id"])
    assert key is not None and (key.rows, key.distinct, key.unique) == (4, 3, False)
    compound = profile.key(["id", "namn"])
    assert compound is not None and (compound.rows, compound.distinct) == (4, 3)
    assert profile.null_fraction("värde") == pytest.approx(0.2)


def test_profile_json_round_trip(parquet: Path) -> None:
    profile = compute_profile(parquet, keys=[["id"]])
    assert Profile.from_json(profile.to_json()) == profile
    with pytest.raises(ValueError, match="unsupported profile format"):
        Profile.from_dict({**profile.to_dict(), "format": "other/9"})


def test_arrow_table_and_several_parts(tmp_path: Path) -> None:
    paths = []
    for i in range(3):
        paths.append(tmp_path / f"part-{i}.parquet")
        pq.write_table(pa.table({"x": [i, i + 10]}), paths[-1])
    profile = compute_profile(paths, keys=[["x"]])
    assert profile.row_count == 6
    assert profile.keys[0].unique
    assert compute_profile(pa.table({"x": [1, 1]}), keys=[["x"]]).keys[0].unique is False


def test_duplicate_sample(parquet: Path) -> None:
    assert duplicate_sample(parquet, ["id"]) == (2, [2])
    rows, values = duplicate_sample(parquet, ["id", "namn"])
    assert (rows, values) == (2, [{"id": 2, "namn": "Bo"}])


def test_quoted_column_names_are_safe(tmp_path: Path) -> None:
    path = tmp_path / "q.parquet"
    pq.write_table(pa.table({'a"; DROP TABLE src; --': [1, 1]}), path)
    profile = compute_profile(path, keys=[['a"; DROP TABLE src; --']])
    assert profile.columns[0].null_count == 0 and not profile.keys[0].unique


def test_column_kinds_and_schema(parquet: Path) -> None:
    assert read_schema(parquet).names == TABLE.schema.names
    assert column_kind(pa.dictionary(pa.int8(), pa.string())) == "string"
    assert column_kind(pa.bool_()) == "boolean"
    assert column_kind(pa.binary()) == "binary"
    assert column_kind(pa.time64("us")) == "temporal"


def test_connections_do_not_keep_the_files_bytes(parquet: Path) -> None:
    """DuckDB's external file cache would keep what a scan read, up to the memory limit,
    in a process that reads the file once (the worker's peak grew with the file)."""
    with connect(parquet) as con:
        assert con.execute("SELECT count(*) FROM src").fetchone() == (5,)
        setting = con.execute("SELECT current_setting('enable_external_file_cache')").fetchone()
        assert setting == (False,)
