"""Publisher suites: both forms, round trips, and the upload-time problems they can have."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from validation.suite_forms import parse_suite
from validation.suites import (
    SPECS,
    Expectation,
    Suite,
    SuiteError,
    SuiteProblem,
    check_suite,
)

SHORT_YAML = """
expectations:
  - column: kommun_kod
    unique: true
    not_null: true
  - column: temperatur
    between: [-60, 50]
    severity: warning
  - column: e_post
    matches: '^[^@]+@[^@]+$'
    mostly: 0.99
  - table:
      row_count_between: [1, 10000000]
"""

SCHEMA = pa.schema(
    [
        ("kommun_kod", pa.string()),
        ("temperatur", pa.float64()),
        ("e_post", pa.string()),
        ("datum", pa.date32()),
    ]
)


def _problems(text: str, fmt: str | None = None) -> list[SuiteProblem]:
    with pytest.raises(SuiteError) as caught:
        parse_suite(text, fmt=fmt)  # type: ignore[arg-type]
    return caught.value.problems


def test_short_yaml_maps_onto_gx_expectations() -> None:
    suite = parse_suite(SHORT_YAML)
    assert [(e.type, e.kwargs, e.severity) for e in suite.expectations] == [
        ("expect_column_values_to_be_unique", {"column": "kommun_kod"}, "critical"),
        ("expect_column_values_to_not_be_null", {"column": "kommun_kod"}, "critical"),
        (
            "expect_column_values_to_be_between",
            {"column": "temperatur", "min_value": -60, "max_value": 50},
            "warning",
        ),
        (
            "expect_column_values_to_match_regex",
            {"column": "e_post", "regex": "^[^@]+@[^@]+$", "mostly": 0.99},
            "critical",
        ),
        (
            "expect_table_row_count_to_be_between",
            {"min_value": 1, "max_value": 10000000},
            "critical",
        ),
    ]
    assert check_suite(suite, SCHEMA) == []


def test_short_yaml_table_checks_and_long_entries() -> None:
    suite = parse_suite(
        """
expectations:
  - table: {columns: [a, b], unique_together: [a, b], column_count_between: [1, null]}
    severity: warning
  - column: a
    in_set: [x, y]
    length_between: [1, 3]
    unique: false
  - type: expect_column_values_to_not_match_regex
    kwargs: {column: a, regex: '^\\s'}
"""
    )
    types = [e.type for e in suite.expectations]
    assert types == [
        "expect_table_columns_to_match_ordered_list",
        "expect_compound_columns_to_be_unique",
        "expect_table_column_count_to_be_between",
        "expect_column_values_to_be_in_set",
        "expect_column_value_lengths_to_be_between",
        "expect_column_values_to_not_match_regex",
    ]
    assert {e.severity for e in suite.expectations[:3]} == {"warning"}


def test_gx_json_form_and_round_trip() -> None:
    gx_json = {
        "name": "väder",
        "id": None,
        "expectations": [
            {
                "type": "expect_column_values_to_match_regex",
                "kwargs": {"column": "e_post", "regex": "^x", "mostly": 0.9},
                "meta": {"note": "från GX"},
                "severity": "warning",
            },
            {
                "type": "expect_column_values_to_not_be_null",
                "kwargs": {"column": "kommun_kod", "result_format": "SUMMARY"},
                "meta": {},
                "severity": "info",
            },
            {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}},
        ],
        "meta": {"great_expectations_version": "1.24.1"},
        "notes": None,
    }
    suite = parse_suite(json.dumps(gx_json))
    assert suite.name == "väder"
    first, second, third = suite.expectations
    assert first == Expectation(
        "expect_column_values_to_match_regex",
        {"column": "e_post", "regex": "^x", "mostly": 0.9},
        "warning",
        {"note": "från GX"},
    )
    assert second.kwargs == {"column": "kommun_kod"}  # run-time options are ours to set
    assert second.severity == "warning"  # GX's "info" never blocks
    assert third.severity == "critical"
    assert Suite.from_json(suite.to_json()) == suite
    assert parse_suite(SHORT_YAML).to_dict()["expectations"][0] == {
        "type": "expect_column_values_to_be_unique",
        "kwargs": {"column": "kommun_kod"},
        "meta": {},
        "severity": "critical",
    }


def test_unknown_expectation_is_named_with_close_matches() -> None:
    [problem] = _problems(
        '{"expectations": [{"type": "expect_column_values_to_be_uniqe", "kwargs": {}}]}'
    )
    assert problem.type == "unknown-expectation"
    assert "'expect_column_values_to_be_uniqe'" in problem.message
    assert "did you mean expect_column_values_to_be_unique" in problem.message
    assert problem.location == "expectations[0].type"
    [short] = _problems("expectations: [{column: a, uniqe: true}]")
    assert short.type == "unknown-expectation"
    assert "'uniqe'" in short.message and "did you mean unique" in short.message


def test_missing_column_is_found_against_the_schema() -> None:
    suite = parse_suite("expectations: [{column: temperature, not_null: true}]")
    [problem] = check_suite(suite, SCHEMA)
    assert problem.type == "missing-column"
    assert problem.column == "temperature"
    assert "expect_column_values_to_not_be_null" in problem.message
    assert "did you mean 'temperatur'" in problem.message


@pytest.mark.parametrize(
    ("text", "argument", "fragment"),
    [
        ("expectations: [{column: temperatur, between: [low, 5]}]", "min_value", "a number"),
        ("expectations: [{column: a, in_set: x}]", "value_set", "a list"),
        ("expectations: [{column: a, not_null: true, mostly: 2}]", "mostly", "between 0 and 1"),
        ("expectations: [{table: {row_count: -1}}]", "value", "whole number"),
        ("expectations: [{table: {columns: a}}]", "column_list", "list of column names"),
        ("expectations: [{column: a, matches: 5}]", "regex", "regular expression"),
    ],
)
def test_wrong_argument_types_name_the_expectation(text: str, argument: str, fragment: str) -> None:
    problems = _problems(text)
    assert [p.type for p in problems] == ["bad-argument"]
    assert f"argument {argument!r}" in problems[0].message
    assert fragment in problems[0].message
    assert "expect_" in problems[0].message


def test_structural_argument_problems() -> None:
    problems = _problems(
        """
expectations:
  - column: a
    between: [5, 1]
  - column: a
    between: [null, null]
  - type: expect_column_values_to_be_in_set
    kwargs: {column: a, value_sett: [1]}
  - column: a
    between: 3
  - column: a
    unique: yes please
"""
    )
    messages = [p.message for p in problems]
    assert any("'min_value' 5 is greater than 'max_value' 1" in m for m in messages)
    assert any("give 'min_value', 'max_value' or both" in m for m in messages)
    assert any("unknown argument 'value_sett'; did you mean 'value_set'" in m for m in messages)
    assert any("missing required argument 'value_set'" in m for m in messages)
    assert any("expected [min, max]" in m for m in messages)
    assert any("expected true or false" in m for m in messages)
    # Every problem says where it was written.
    assert all(p.location.startswith("expectations[") for p in problems)


@pytest.mark.parametrize("pattern", ["(a+)+$", "^(\\w+\\s?)*$", "(a|aa)+b", "(x)\\1"])
def test_backtracking_regex_is_rejected_at_upload(pattern: str) -> None:
    suite_json = json.dumps(
        {
            "expectations": [
                {
                    "type": "expect_column_values_to_match_regex",
                    "kwargs": {"column": "e_post", "regex": pattern},
                }
            ]
        }
    )
    [problem] = _problems(suite_json)
    assert problem.type == "unsafe-regex"
    assert "expect_column_values_to_match_regex on column 'e_post'" in problem.message
    assert problem.location == "expectations[0].kwargs.regex"


def test_overlong_and_invalid_patterns_are_rejected() -> None:
    [long] = _problems(f"expectations: [{{column: a, matches: '{'a' * 501}'}}]")
    assert "longer than 500 characters" in long.message
    [broken] = _problems("expectations: [{column: a, not_matches: '(unclosed'}]")
    assert broken.type == "unsafe-regex"
    assert "not a valid regular expression" in broken.message


@pytest.mark.parametrize(
    ("text", "fmt", "code", "fragment"),
    [
        ('{"expectations": [', "json", "invalid-json", "line 1"),
        ("expectations: [\n  - column: a\n", "yaml", "invalid-yaml", "line"),
        ("base: &b {column: a}\nexpectations: [*b]", "yaml", "invalid-yaml", "aliases"),
        ("- just a list", "yaml", "invalid-structure", "'expectations' list"),
        ('{"expectations": [42]}', "json", "invalid-structure", "'type'"),
    ],
)
def test_invalid_documents(text: str, fmt: str, code: str, fragment: str) -> None:
    [problem] = _problems(text, fmt)
    assert problem.type == code
    assert fragment in problem.message


def test_column_type_mismatches_against_the_schema() -> None:
    suite = parse_suite(
        """
expectations:
  - column: temperatur
    matches: '^1'
  - column: kommun_kod
    between: [0, 10]
  - column: datum
    between: ['2020-01-01', '2020-12-31']
  - column: temperatur
    in_set: [a, 1.5]
"""
    )
    problems = check_suite(suite, SCHEMA)
    assert [(p.type, p.location) for p in problems] == [
        ("column-type-mismatch", "expectations[0]"),
        ("column-type-mismatch", "expectations[1]"),
        ("bad-argument", "expectations[3].kwargs.value_set"),
    ]


def test_supported_types_are_a_clear_list() -> None:
    assert len(SPECS) >= 12
    assert all(name.startswith("expect_") for name in SPECS)
    assert {s.engine for s in SPECS.values()} == {"schema", "metrics", "rows"}


def test_merging_keeps_an_expectation_once_with_the_stricter_severity() -> None:
    defaults = Suite("default", (Expectation("expect_column_to_exist", {"column": "a"}),))
    publisher = Suite(
        "p",
        (
            Expectation("expect_column_to_exist", {"column": "a"}, "warning"),
            Expectation("expect_column_to_exist", {"column": "b"}, "warning"),
        ),
    )
    merged = defaults.plus(publisher)
    assert [(e.kwargs["column"], e.severity) for e in merged.expectations] == [
        ("a", "critical"),
        ("b", "warning"),
    ]
