"""Run a suite against a Parquet file (or Arrow data) and return a :class:`Report`.

Where each expectation runs, and why:

schema (Parquet footer, no scan)
    ``expect_table_columns_to_match_ordered_list`` / ``…_set``, ``expect_table_column_count_…``,
    ``expect_column_to_exist``, ``expect_column_values_to_be_of_type``: the answer is in the
    schema; a Parquet column has one type, so checking every value would say nothing more.
duckdb (one aggregate scan over the Parquet files: ``validation.metrics``)
    row counts, not-null, unique (one column or compound), min/max/mean, proportion of
    non-null values, distinct count. These are properties of the whole column: a value unique
    within every chunk may still repeat across chunks, a chunk's min is not the table's. DuckDB
    computes all of them in a single streaming pass within a memory limit (spilling to disk),
    and the same pass yields the profile the next version's drift checks compare against.
great-expectations (GX 1.x, over record-batch chunks: ``validation.row_level``)
    per-row predicates: ``expect_column_values_to_be_between``, ``…_to_be_in_set``,
    ``…_to_not_be_in_set``, ``…_to_match_regex``, ``…_to_not_match_regex``,
    ``expect_column_value_lengths_to_be_between``. Each row passes or fails on its own, so
    unexpected counts add up exactly across chunks.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

import duckdb
import pyarrow as pa

from validation.defaults import DriftTolerance, default_suite
from validation.metrics import (
    DEFAULT_MEMORY_LIMIT,
    Profile,
    Source,
    compute_profile,
    duplicate_sample,
    read_schema,
)
from validation.report import ExpectationResult, Mask, Report, ReportError
from validation.results import between, counted, instant, result
from validation.row_level import row_results
from validation.suites import Expectation, Suite, check_expectation

_UNIQUE = ("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique")


def validate(
    source: Source,
    suite: Suite | None = None,
    *,
    previous: Profile | None = None,
    key_columns: Sequence[str] = (),
    accept_schema_change: bool = False,
    defaults: bool = True,
    tolerance: DriftTolerance | None = None,
    mask: Mask | None = None,
    unexpected_limit: int = 5,
    chunk_rows: int | None = None,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    profile: Profile | None = None,
) -> Report:
    """Validate ``source`` against the default suite (unless ``defaults=False``) plus ``suite``.

    ``previous``: the previous version's profile (``Report.profile``), for the schema and
    drift rules. ``mask`` is applied to values from the data before they enter the report.
    ``profile``: this source's profile computed already (``metrics.profile_query``, by the
    ingestion's statistics scan); then only key and exact distinct counts are scanned for.
    Never raises for bad data or a suite that does not fit the data: those are findings.
    """
    started = time.perf_counter()
    label = _label(source)
    try:
        schema = read_schema(source)
    except (OSError, pa.ArrowException) as exc:
        return Report("default", label, (), errors=(ReportError("source-error", str(exc)),))
    full = Suite(suite.name if suite else "default")
    if defaults:
        full = default_suite(
            schema,
            previous=previous,
            key_columns=key_columns,
            accept_schema_change=accept_schema_change,
            tolerance=tolerance or DriftTolerance(),
        )
    if suite is not None:
        full = full.plus(suite, name=suite.name if not defaults else f"default + {suite.name}")

    results: dict[int, ExpectationResult] = {}
    runnable: list[tuple[int, Expectation]] = []
    for i, exp in enumerate(full.expectations):
        problems = check_expectation(exp, schema, where=f"expectations[{i}]")
        if problems:
            results[i] = result(exp, False, "none", error="; ".join(p.message for p in problems))
        else:
            runnable.append((i, exp))

    base, profile = profile, None
    errors: list[ReportError] = []
    keys = [_key_columns(e) for _, e in runnable if e.type in _UNIQUE]
    exact = [e.column for _, e in runnable if e.type.endswith("unique_value_count_to_be_between")]
    try:
        profile = compute_profile(
            source,
            keys=keys,
            exact_distinct=[c for c in exact if c],
            memory_limit=memory_limit,
            base=base,
        )
    except duckdb.Error as exc:
        errors.append(ReportError("source-error", f"could not scan the data: {exc}"))
    rows = [(i, e) for i, e in runnable if e.engine == "rows"]
    for i, exp in runnable:
        try:
            if exp.engine == "schema":
                results[i] = _schema_result(exp, schema)
            elif profile is None:  # unreadable data: nothing but the schema can be checked
                results[i] = result(exp, False, "none", error="the data could not be scanned")
            elif exp.engine == "metrics":
                results[i] = _metric_result(exp, profile, source, unexpected_limit, memory_limit)
        except (duckdb.Error, ValueError, TypeError) as exc:  # a finding, not a crash
            results[i] = result(exp, False, "none", error=f"could not be evaluated: {exc}")
    if rows and profile is not None:
        results.update(row_results(source, schema, rows, chunk_rows, unexpected_limit))
    report = Report(
        suite=full.name,
        source=label,
        results=tuple(results[i] for i in sorted(results)),
        row_count=profile.row_count if profile else None,
        errors=tuple(errors),
        profile=profile,
        duration_seconds=round(time.perf_counter() - started, 3),
    )
    return report.masked(mask) if mask else report


def _label(source: Source) -> str:
    if isinstance(source, pa.Table):
        return "<arrow table>"
    if isinstance(source, str | os.PathLike):
        return os.fspath(source)
    return ", ".join(os.fspath(p) for p in source)


def _key_columns(exp: Expectation) -> list[str]:
    return [exp.column] if exp.column else list(exp.kwargs["column_list"])


def _schema_result(exp: Expectation, schema: pa.Schema) -> ExpectationResult:
    names, kw = schema.names, exp.kwargs
    if exp.type == "expect_table_columns_to_match_ordered_list":
        return result(exp, names == list(kw["column_list"]), "schema", names)
    if exp.type == "expect_table_columns_to_match_set":
        want, have = set(kw["column_set"]), set(names)
        ok = want == have if kw.get("exact_match", True) else want <= have
        return result(exp, ok, "schema", names)
    if exp.type == "expect_table_column_count_to_equal":
        return result(exp, len(names) == kw["value"], "schema", len(names))
    if exp.type == "expect_table_column_count_to_be_between":
        return result(exp, between(len(names), kw), "schema", len(names))
    if exp.type == "expect_column_to_exist":
        return result(exp, kw["column"] in names, "schema", kw["column"] in names)
    if exp.type == "expect_column_values_to_be_of_type":
        actual = str(schema.field(kw["column"]).type)
        return result(exp, _type_key(kw["type_"]) == _type_key(actual), "schema", actual)
    raise AssertionError(exp.type)


# Spellings that name the same Arrow type (pandas/GX names, Arrow aliases).
_TYPE_ALIASES = {
    "str": "string",
    "utf8": "string",
    "large_string": "string",
    "large_utf8": "string",
    "float64": "double",
    "float32": "float",
    "int": "int64",
    "integer": "int64",
    "boolean": "bool",
    "date": "date32[day]",
}


def _type_key(name: str) -> str:
    name = name.strip().lower()
    return _TYPE_ALIASES.get(name, name)


def _metric_result(
    exp: Expectation, profile: Profile, source: Source, limit: int, memory_limit: str
) -> ExpectationResult:
    kw, rows = exp.kwargs, profile.row_count
    if exp.type == "expect_table_row_count_to_be_between":
        return result(exp, between(rows, kw), "duckdb", rows)
    if exp.type == "expect_table_row_count_to_equal":
        return result(exp, rows == kw["value"], "duckdb", rows)
    if exp.type in _UNIQUE:
        cols = _key_columns(exp)
        key = profile.key(cols)
        assert key is not None  # requested from compute_profile above
        observed = {"non_null_rows": key.rows, "distinct": key.distinct}
        duplicates: tuple[int, list[Any]] = (0, [])
        if not key.unique:
            duplicates = duplicate_sample(source, cols, limit=limit, memory_limit=memory_limit)
        return counted(exp, observed, key.rows, *duplicates, element_count=rows)
    col = profile.column(kw["column"])
    assert col is not None  # check_expectation found the column in the schema
    if exp.type == "expect_column_values_to_not_be_null":
        return counted(exp, col.null_count, rows, col.null_count, [], element_count=rows)
    if exp.type == "expect_column_proportion_of_non_null_values_to_be_between":
        share = 1.0 - col.null_count / rows if rows else None
        return result(exp, share is not None and between(share, kw), "duckdb", share)
    if exp.type == "expect_column_unique_value_count_to_be_between":
        distinct = col.exact_distinct_count
        return result(exp, distinct is not None and between(distinct, kw), "duckdb", distinct)
    value = {"min": col.min, "max": col.max, "mean": col.mean}[exp.type.split("_")[2]]
    if col.kind == "temporal":
        ok = value is not None and between(instant(value), kw, convert=instant)
    else:
        ok = value is not None and between(value, kw)
    return result(exp, ok, "duckdb", value)
