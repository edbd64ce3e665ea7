"""The default suite: row count, keys, schema against the previous version, and drift.

These run only DuckDB-evaluated expectations, so they never start Great Expectations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from validation.defaults import DriftTolerance, default_suite, schema_change
from validation.metrics import Profile, compute_profile
from validation.report import Report
from validation.runner import validate

V1: dict[str, list[Any]] = {
    "kommun_kod": [f"{i:04d}" for i in range(100)],
    "temperatur": [float(i % 40) - 10 for i in range(100)],  # -10 … 29
    "namn": [f"Kommun {i}" for i in range(100)],
}


def _write(tmp_path: Path, name: str, columns: dict[str, list[Any]] | pa.Table) -> Path:
    path = tmp_path / f"{name}.parquet"
    pq.write_table(columns if isinstance(columns, pa.Table) else pa.table(columns), path)
    return path


@pytest.fixture
def previous(tmp_path: Path) -> Profile:
    return compute_profile(_write(tmp_path, "v1", V1))


def _failed(report: Report) -> list[tuple[str, str | None, str]]:
    return [(r.expectation, r.column, r.status) for r in report.results if not r.success]


def test_without_previous_version_only_row_count_and_keys(tmp_path: Path) -> None:
    schema = pa.table(V1).schema
    suite = default_suite(schema, key_columns=["kommun_kod"])
    assert [(e.type, e.severity, e.meta["rule"]) for e in suite.expectations] == [
        ("expect_table_row_count_to_be_between", "critical", "row-count"),
        ("expect_column_values_to_not_be_null", "critical", "key"),
        ("expect_column_values_to_be_unique", "critical", "key"),
    ]
    compound = default_suite(schema, key_columns=["kommun_kod", "namn"])
    assert compound.expectations[-1].type == "expect_compound_columns_to_be_unique"
    report = validate(_write(tmp_path, "v1", V1), key_columns=["kommun_kod"])
    assert report.decision == "publish"
    assert report.summary.score == 100.0


def test_an_unchanged_next_version_publishes(tmp_path: Path, previous: Profile) -> None:
    report = validate(_write(tmp_path, "v2", V1), previous=previous, key_columns=["kommun_kod"])
    rules = {r.meta["rule"] for r in report.results}
    assert rules == {"row-count", "key", "schema", "drift"}
    assert report.decision == "publish", _failed(report)
    # The new profile is what the version after this one compares against.
    assert report.profile is not None and report.profile.row_count == 100


def test_empty_table_and_bad_keys_reject(tmp_path: Path) -> None:
    empty = validate(_write(tmp_path, "empty", pa.table(V1).slice(0, 0)))
    assert empty.decision == "reject"
    assert _failed(empty) == [("expect_table_row_count_to_be_between", None, "failed")]

    bad = dict(V1, kommun_kod=["0001", "0001", None] + V1["kommun_kod"][3:])
    report = validate(_write(tmp_path, "dup", bad), key_columns=["kommun_kod"])
    assert report.decision == "reject"
    unique = next(r for r in report.results if r.expectation.endswith("to_be_unique"))
    assert (unique.unexpected_count, unique.unexpected_values) == (2, ["0001"])
    not_null = next(r for r in report.results if r.expectation.endswith("not_be_null"))
    assert not_null.unexpected_count == 1 and not not_null.success


@pytest.mark.parametrize(
    ("change", "failing"),
    [
        ("added", {("expect_table_columns_to_match_ordered_list", None)}),
        ("removed", {("expect_table_columns_to_match_ordered_list", None)}),
        ("retyped", {("expect_column_values_to_be_of_type", "temperatur")}),
    ],
)
def test_schema_changes_reject_unless_accepted(
    tmp_path: Path, previous: Profile, change: str, failing: set[tuple[str, str | None]]
) -> None:
    data: dict[str, list[Any]] = dict(V1)
    if change == "added":
        data["ny"] = [1] * 100
    elif change == "removed":
        del data["namn"]
    else:
        data["temperatur"] = [str(v) for v in V1["temperatur"]]
    path = _write(tmp_path, change, data)

    rejected = validate(path, previous=previous)
    assert rejected.decision == "reject"
    assert {(e, c) for e, c, _ in _failed(rejected)} == failing

    accepted = validate(path, previous=previous, accept_schema_change=True)
    assert accepted.decision == "publish-with-warnings"
    assert {s for _, _, s in _failed(accepted)} == {"warning"}
    ordered = next(r for r in accepted.results if r.expectation.endswith("ordered_list"))
    assert change in ordered.meta["accepted_change"] or "->" in ordered.meta["accepted_change"]


def test_schema_change_description(previous: Profile) -> None:
    schema = pa.schema([("namn", pa.string()), ("kommun_kod", pa.int32()), ("ny", pa.bool_())])
    change = schema_change(previous, schema)
    assert change.added == ("ny",) and change.removed == ("temperatur",)
    assert change.retyped == (("kommun_kod", "string", "int32"),)
    assert change.reordered and change.changed
    assert change.describe() == (
        "added ny; removed temperatur; kommun_kod: string -> int32; columns reordered"
    )


def test_drift_in_null_fraction_and_range_warns(tmp_path: Path, previous: Profile) -> None:
    drifted = dict(V1)
    drifted["namn"] = [None if i % 2 else n for i, n in enumerate(V1["namn"])]  # 0% -> 50% null
    drifted["temperatur"] = [v * 3 for v in V1["temperatur"]]  # -30 … 87
    report = validate(_write(tmp_path, "drift", drifted), previous=previous)
    assert report.decision == "publish-with-warnings"
    assert set(_failed(report)) == {
        ("expect_column_proportion_of_non_null_values_to_be_between", "namn", "warning"),
        ("expect_column_min_to_be_between", "temperatur", "warning"),
        ("expect_column_max_to_be_between", "temperatur", "warning"),
    }
    max_result = next(r for r in report.results if r.expectation.endswith("max_to_be_between"))
    assert max_result.observed_value == 87.0
    # Previous max 29, width 39: the default 10 % tolerance allows 25.1 … 32.9.
    assert max_result.kwargs["min_value"] == pytest.approx(25.1)
    assert max_result.kwargs["max_value"] == pytest.approx(32.9)
    assert max_result.meta == {"rule": "drift", "previous": 29.0}

    loose = DriftTolerance(null_fraction=0.6, range=3.0)
    relaxed = validate(_write(tmp_path, "drift", drifted), previous=previous, tolerance=loose)
    assert relaxed.decision == "publish"


def test_drift_is_skipped_for_retyped_columns(previous: Profile) -> None:
    schema = pa.schema(
        [("kommun_kod", pa.string()), ("temperatur", pa.string()), ("namn", pa.string())]
    )
    suite = default_suite(schema, previous=previous, accept_schema_change=True)
    drift_columns = {e.column for e in suite.expectations if e.meta["rule"] == "drift"}
    assert drift_columns == {"kommun_kod", "namn"}
    assert {e.severity for e in suite.expectations if e.meta["rule"] == "schema"} == {"warning"}
