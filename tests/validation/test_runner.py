"""The runner with real Great Expectations: row-level expectations over many small chunks,
counts that add up across chunks, ``mostly`` on the totals, and the publication decision."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import NoReturn

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from validation.metrics import compute_profile
from validation.report import ExpectationResult, Report
from validation.runner import validate
from validation.suite_forms import parse_suite
from validation.suites import Expectation, Suite

# GX takes seconds to import: keep every test that starts it on one xdist worker.
pytestmark = pytest.mark.xdist_group("great-expectations")

N = 1000


@pytest.fixture(scope="module", autouse=True)
def no_network() -> Iterator[list[str]]:
    """Fail any attempt to resolve or connect while GX is imported and run in this module."""
    attempts: list[str] = []

    def refuse(*args: object, **kwargs: object) -> NoReturn:
        attempts.append(repr(args)[:200])
        raise OSError("network access during validation")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket, "getaddrinfo", refuse)
        patch.setattr(socket.socket, "connect", refuse)
        patch.setattr(socket.socket, "connect_ex", refuse)
        yield attempts
    assert attempts == [], attempts


def _table() -> pa.Table:
    return pa.table(
        {
            "id": pa.array(range(N), pa.int64()),
            # every 50th address is malformed: 20 of them, spread over every chunk
            "e_post": [f"user{i}@example.se" if i % 50 else f"<b>user{i}</b>" for i in range(N)],
            "lan": [["AB", "C", "D", "XX"][i % 4] if i % 10 else None for i in range(N)],
            "temp": pa.array([None if i % 7 == 0 else (i % 100) - 10 for i in range(N)]),
            "dag": pa.array([date(2024, 1, 1 + i % 28) for i in range(N)]),
            "tid": pa.array(
                [datetime(2024, 6, 1, i % 24, tzinfo=UTC) for i in range(N)],
                pa.timestamp("us", tz="Europe/Stockholm"),
            ),
        }
    )


@pytest.fixture(scope="module")
def parquet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("runner") / "data.parquet"
    pq.write_table(_table(), path, row_group_size=300)
    return path


ROW_SUITE = """
expectations:
  - column: e_post
    matches: '^[^@<>]+@[^@<>]+$'
    length_between: [5, 30]
  - column: lan
    in_set: [AB, C, D]
    severity: warning
  - column: lan
    not_in_set: [Z]
  - column: temp
    between: [0, 80]
    mostly: 0.5
  - column: e_post
    not_matches: '^\\s'
  - column: dag
    between: ['2024-01-01', '2024-01-20']
    severity: warning
  - column: tid
    between: ['2024-06-01T00:00:00+00:00', '2024-06-01T21:59:59+02:00']
    severity: warning
"""


def _by(report: Report, typ: str, column: str) -> ExpectationResult:
    return next(r for r in report.results if r.expectation == typ and r.column == column)


def test_row_level_counts_add_up_across_chunks(parquet: Path) -> None:
    report = validate(parquet, parse_suite(ROW_SUITE), defaults=False, chunk_rows=128)
    assert report.errors == ()
    regex = _by(report, "expect_column_values_to_match_regex", "e_post")
    assert regex.engine == "great-expectations"
    assert (regex.element_count, regex.missing_count, regex.unexpected_count) == (N, 0, 20)
    # The first few distinct unexpected values, in order, from the first chunks.
    assert regex.unexpected_values == [f"<b>user{i}</b>" for i in (0, 50, 100, 150, 200)]
    assert regex.unexpected_percent == pytest.approx(2.0)
    assert not regex.success and regex.status == "failed"

    lengths = _by(report, "expect_column_value_lengths_to_be_between", "e_post")
    assert lengths.success and lengths.unexpected_count == 0

    in_set = _by(report, "expect_column_values_to_be_in_set", "lan")
    # 100 nulls are missing, not unexpected; "XX" is every 4th of the rest.
    assert (in_set.missing_count, in_set.unexpected_count) == (100, 250)
    assert in_set.unexpected_values == ["XX"] and in_set.status == "warning"
    assert _by(report, "expect_column_values_to_not_be_in_set", "lan").success
    assert _by(report, "expect_column_values_to_not_match_regex", "e_post").success

    temp = _by(report, "expect_column_values_to_be_between", "temp")
    missing = len([i for i in range(N) if i % 7 == 0])
    out_of_range = len([i for i in range(N) if i % 7 and not 0 <= (i % 100) - 10 <= 80])
    assert (temp.missing_count, temp.unexpected_count) == (missing, out_of_range)
    assert temp.success  # mostly 0.5
    # Integers made float by pandas (nulls) come back as integers.
    assert all(isinstance(v, int) for v in temp.unexpected_values)

    day = _by(report, "expect_column_values_to_be_between", "dag")
    assert day.unexpected_count == len([i for i in range(N) if i % 28 >= 20])
    assert day.unexpected_values[:2] == ["2024-01-21", "2024-01-22"]  # dates stay dates
    hour = _by(report, "expect_column_values_to_be_between", "tid")
    assert hour.unexpected_count == len([i for i in range(N) if i % 24 >= 20])

    assert report.decision == "reject"  # the critical regex failed
    assert report.summary.failed == 1 and report.summary.warnings == 3


def test_chunking_does_not_change_the_answer(parquet: Path, tmp_path: Path) -> None:
    suite = parse_suite(ROW_SUITE)
    whole = validate(parquet, suite, defaults=False)  # one automatic-size chunk
    table = validate(_table(), suite, defaults=False, chunk_rows=333)
    parts = []
    for i in range(3):
        parts.append(tmp_path / f"part-{i}.parquet")
        pq.write_table(_table().slice(i * 400, 400), parts[-1])
    split = validate(parts, suite, defaults=False, chunk_rows=150)

    def counts(report: Report) -> list[tuple[object, ...]]:
        return [(r.unexpected_count, r.missing_count, r.success) for r in report.results]

    assert counts(whole) == counts(table) == counts(split)
    assert table.source == "<arrow table>"
    assert split.source.count("part-") == 3


def test_mostly_is_judged_on_totals_not_per_chunk(tmp_path: Path) -> None:
    # All 50 bad values sit in one chunk (100 % of it), 5 % of the table.
    path = tmp_path / "m.parquet"
    pq.write_table(pa.table({"v": ["bad" if 100 <= i < 150 else "ok" for i in range(N)]}), path)
    suite = Suite(
        "m",
        tuple(
            Expectation(
                "expect_column_values_to_be_in_set",
                {"column": "v", "value_set": ["ok"], "mostly": mostly},
            )
            for mostly in (0.9, 0.99)
        ),
    )
    loose, strict = validate(path, suite, defaults=False, chunk_rows=50).results
    assert loose.success and loose.unexpected_count == 50
    assert not strict.success and strict.unexpected_count == 50


def test_decisions(parquet: Path) -> None:
    ok = parse_suite("expectations: [{column: e_post, length_between: [1, 40]}]")
    assert validate(parquet, ok, key_columns=["id"], chunk_rows=250).decision == "publish"
    warn = parse_suite(
        "expectations: [{column: lan, in_set: [AB], severity: warning}, "
        "{column: e_post, length_between: [1, 40]}]"
    )
    assert validate(parquet, warn, chunk_rows=250).decision == "publish-with-warnings"
    critical = parse_suite("expectations: [{column: lan, in_set: [AB]}]")
    report = validate(parquet, critical, chunk_rows=250)
    assert report.decision == "reject"
    assert report.suite == "default + publisher"


def test_problems_at_ingest_are_findings_not_exceptions(parquet: Path, tmp_path: Path) -> None:
    # Checked at upload against an older schema; this version lacks the column.
    suite = parse_suite("expectations: [{column: borttagen, matches: '^x'}]")
    report = validate(parquet, suite, defaults=False)
    [result] = report.results
    assert not result.success and result.engine == "none"
    assert result.error is not None and "no column 'borttagen'" in result.error
    assert report.decision == "reject"

    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 this is not parquet")
    unreadable = validate(broken)
    assert unreadable.decision == "reject"
    assert [e.type for e in unreadable.errors] == ["source-error"]
    assert validate(tmp_path / "missing.parquet").errors[0].type == "source-error"


def test_a_profile_computed_beforehand_gives_the_same_report(parquet: Path) -> None:
    """The ingestion's statistics scan computes the profile; validation then scans only for
    what the profile leaves out (keys, exact distinct counts), with the same results."""
    suite = parse_suite(
        "expectations: [{column: lan, distinct_count_between: [1, 3]},"
        " {column: id, unique: true}, {column: temp, min_between: [-20, 0]},"
        " {column: e_post, length_between: [1, 40]}]"
    )
    base = compute_profile(parquet)
    for key_columns in ([], ["id"]):
        scanned = validate(parquet, suite, key_columns=key_columns, chunk_rows=250)
        given = validate(parquet, suite, key_columns=key_columns, chunk_rows=250, profile=base)
        assert given.profile == scanned.profile
        timing = {"duration_seconds": 0, "created_at": ""}
        assert {**given.to_dict(), **timing} == {**scanned.to_dict(), **timing}
    assert scanned.profile is not None and scanned.profile.key(["id"]) is not None
    lan = scanned.profile.column("lan")
    assert lan is not None and lan.exact_distinct_count == 4
