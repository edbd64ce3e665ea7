"""Expectation suites: our typed model and the checks a suite gets when it is uploaded.

A suite is a list of :class:`Expectation` (a Great Expectations 1.x expectation type, its
kwargs, and a ``severity``: ``critical`` failures reject a version, ``warning`` failures
publish it with the report attached). ``validation.suite_forms`` reads the two forms
publishers write (GX 1.x JSON, the short YAML form) into this model.

Only the types in ``SPECS`` are accepted. Problems are collected, not raised one by one, so
an upload gets every mistake in one answer; each names the expectation it is about.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime
from typing import Any, Literal

import pyarrow as pa

from validation.metrics import column_kind
from validation.regex_guard import regex_problem

Severity = Literal["critical", "warning"]
Engine = Literal["schema", "metrics", "rows"]


@dataclass(frozen=True)
class Spec:
    engine: Engine
    args: dict[str, str]  # name -> kind; a trailing "!" marks a required argument
    kinds: tuple[str, ...] = ()  # column kinds (validation.metrics.column_kind) it applies to
    bounds: bool = False  # a min_value/max_value pair of which at least one is given


_NUM = ("numeric",)
_ORD = ("numeric", "temporal")
_STR = ("string",)
_RANGE = {"min_value": "bound", "max_value": "bound", "strict_min": "bool", "strict_max": "bool"}
_COUNTS = {"min_value": "count", "max_value": "count"}
_FRACTIONS = {"min_value": "fraction", "max_value": "fraction"}
_MAP = {"column": "column!", "mostly": "fraction"}

SPECS: dict[str, Spec] = {
    "expect_table_row_count_to_be_between": Spec("metrics", _COUNTS, bounds=True),
    "expect_table_row_count_to_equal": Spec("metrics", {"value": "count!"}),
    "expect_table_column_count_to_equal": Spec("schema", {"value": "count!"}),
    "expect_table_column_count_to_be_between": Spec("schema", _COUNTS, bounds=True),
    "expect_table_columns_to_match_ordered_list": Spec("schema", {"column_list": "columns!"}),
    "expect_table_columns_to_match_set": Spec(
        "schema", {"column_set": "columns!", "exact_match": "bool"}
    ),
    "expect_column_to_exist": Spec("schema", {"column": "column!"}),
    "expect_column_values_to_be_of_type": Spec("schema", {"column": "column!", "type_": "text!"}),
    "expect_column_values_to_not_be_null": Spec("metrics", _MAP),
    "expect_column_values_to_be_unique": Spec("metrics", _MAP),
    "expect_compound_columns_to_be_unique": Spec(
        "metrics", {"column_list": "columns!", "mostly": "fraction"}
    ),
    "expect_column_min_to_be_between": Spec("metrics", {"column": "column!", **_RANGE}, _ORD, True),
    "expect_column_max_to_be_between": Spec("metrics", {"column": "column!", **_RANGE}, _ORD, True),
    "expect_column_mean_to_be_between": Spec(
        "metrics", {"column": "column!", **_RANGE}, _NUM, True
    ),
    "expect_column_proportion_of_non_null_values_to_be_between": Spec(
        "metrics", {"column": "column!", **_FRACTIONS}, bounds=True
    ),
    "expect_column_unique_value_count_to_be_between": Spec(
        "metrics", {"column": "column!", **_COUNTS}, bounds=True
    ),
    "expect_column_values_to_be_between": Spec("rows", {**_MAP, **_RANGE}, _ORD, True),
    "expect_column_values_to_be_in_set": Spec("rows", {**_MAP, "value_set": "values!"}),
    "expect_column_values_to_not_be_in_set": Spec("rows", {**_MAP, "value_set": "values!"}),
    "expect_column_values_to_match_regex": Spec("rows", {**_MAP, "regex": "regex!"}, _STR),
    "expect_column_values_to_not_match_regex": Spec("rows", {**_MAP, "regex": "regex!"}, _STR),
    "expect_column_value_lengths_to_be_between": Spec("rows", {**_MAP, **_COUNTS}, _STR, True),
}


@dataclass(frozen=True)
class Expectation:
    type: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    severity: Severity = "critical"
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def column(self) -> str | None:
        value = self.kwargs.get("column")
        return value if isinstance(value, str) else None

    @property
    def engine(self) -> Engine | None:
        spec = SPECS.get(self.type)
        return spec.engine if spec else None

    def describe(self) -> str:
        """How messages and reports name this expectation."""
        if self.column is not None:
            return f"{self.type} on column {self.column!r}"
        cols = self.kwargs.get("column_list")
        if self.type == "expect_compound_columns_to_be_unique" and isinstance(cols, list):
            return f"{self.type} on columns {', '.join(map(str, cols))}"
        return self.type

    def to_dict(self) -> dict[str, Any]:
        """The GX 1.x JSON form of this expectation."""
        return {
            "type": self.type,
            "kwargs": self.kwargs,
            "meta": self.meta,
            "severity": self.severity,
        }


@dataclass(frozen=True)
class Suite:
    name: str
    expectations: tuple[Expectation, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """GX 1.x suite JSON (loadable by ``great_expectations.ExpectationSuite(**d)``)."""
        return {
            "name": self.name,
            "expectations": [e.to_dict() for e in self.expectations],
            "meta": self.meta,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)

    @classmethod
    def from_json(cls, text: str) -> Suite:
        # Imported here: the forms module builds Suites, so it imports this one.
        from validation.suite_forms import parse_suite

        return parse_suite(text, fmt="json")

    def plus(self, other: Suite, *, name: str | None = None) -> Suite:
        """This suite's expectations followed by ``other``'s (defaults + publisher's).

        An expectation in both (same type and kwargs) is kept once, with the stricter severity.
        """
        merged: dict[str, Expectation] = {}
        for exp in self.expectations + other.expectations:
            key = json.dumps([exp.type, exp.kwargs], sort_keys=True, default=str)
            if key in merged and merged[key].severity == "critical":
                continue
            merged[key] = exp if key not in merged else replace(merged[key], severity=exp.severity)
        return Suite(name or self.name, tuple(merged.values()), dict(self.meta))


@dataclass(frozen=True)
class SuiteProblem:
    """One thing wrong with a suite. ``type`` is a stable kebab-case code."""

    type: str
    message: str
    location: str = ""  # e.g. "expectations[2].kwargs.regex"
    expectation: str | None = None
    column: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class SuiteError(ValueError):
    """A suite that cannot be used; ``problems`` lists every reason."""

    def __init__(self, problems: list[SuiteProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(p.message for p in problems))


def check_suite(suite: Suite, schema: pa.Schema) -> list[SuiteProblem]:
    """Every problem running ``suite`` against data with ``schema`` would hit (empty = OK)."""
    return [
        problem
        for i, exp in enumerate(suite.expectations)
        for problem in check_expectation(exp, schema, where=f"expectations[{i}]")
    ]


def check_expectation(exp: Expectation, schema: pa.Schema, *, where: str) -> list[SuiteProblem]:
    """The problems of one expectation against ``schema``; ``where`` prefixes messages."""
    problems = static_problems(exp, where)
    if problems or exp.type == "expect_column_to_exist" or exp.type.startswith("expect_table"):
        return problems  # those are about the schema itself: a missing column is their failure
    fields = {f.name: f for f in schema}
    columns = [exp.column] if exp.column else list(exp.kwargs.get("column_list") or [])
    missing = [c for c in columns if c not in fields]
    for col in missing:
        close = difflib.get_close_matches(col, list(fields), n=3)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        msg = f"{where} ({exp.describe()}): the data has no column {col!r}{hint}"
        problems.append(SuiteProblem("missing-column", msg, where, exp.type, col))
    if exp.column and not missing:
        problems += _type_problems(exp, fields[exp.column].type, where)
    return problems


def _type_problems(exp: Expectation, dtype: pa.DataType, where: str) -> list[SuiteProblem]:
    spec, kind = SPECS[exp.type], column_kind(dtype)
    label = f"{where} ({exp.describe()})"
    if spec.kinds and kind not in spec.kinds:
        msg = f"{label}: applies to {'/'.join(spec.kinds)} columns, not {dtype}"
        return [SuiteProblem("column-type-mismatch", msg, where, exp.type, exp.column)]
    problems = []
    values: list[tuple[str, Any]] = [
        (k, exp.kwargs.get(k)) for k in ("min_value", "max_value") if spec.args.get(k) == "bound"
    ]
    values += [("value_set", v) for v in exp.kwargs.get("value_set") or []]
    for arg, value in values:
        if value is None:
            continue
        if kind == "numeric" and not _is_number(value):
            bad = f"{value!r} is not a number"
        elif kind == "temporal" and spec.args.get(arg) == "bound" and _parse_time(value) is None:
            bad = f"{value!r} is not an ISO 8601 date or time"
        elif kind == "string" and not isinstance(value, str):
            bad = f"{value!r} is not text"
        else:
            continue
        msg = f"{label}: argument {arg!r}: {bad} (column type {dtype})"
        problems.append(SuiteProblem("bad-argument", msg, f"{where}.kwargs.{arg}", exp.type))
    return problems


def static_problems(exp: Expectation, where: str) -> list[SuiteProblem]:
    spec = SPECS.get(exp.type)
    if spec is None:
        close = difflib.get_close_matches(exp.type, list(SPECS), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else "; see docs/validation.md"
        msg = f"{where}: unknown or unsupported expectation type {exp.type!r}{hint}"
        return [SuiteProblem("unknown-expectation", msg, f"{where}.type", exp.type)]
    label = f"{where} ({exp.describe()})"
    problems = []
    if exp.severity not in ("critical", "warning"):
        msg = f"{label}: severity must be 'critical' or 'warning', not {exp.severity!r}"
        problems.append(SuiteProblem("bad-argument", msg, f"{where}.severity", exp.type))
    for arg in exp.kwargs.keys() - spec.args.keys():
        close = difflib.get_close_matches(arg, list(spec.args), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        msg = f"{label}: unknown argument {arg!r}{hint}"
        problems.append(SuiteProblem("bad-argument", msg, f"{where}.kwargs.{arg}", exp.type))
    for arg, kind in spec.args.items():
        value = exp.kwargs.get(arg)
        if value is None:
            if kind.endswith("!"):
                msg = f"{label}: missing required argument {arg!r}"
                problems.append(SuiteProblem("bad-argument", msg, f"{where}.kwargs", exp.type))
            continue
        bad = _kind_problem(kind.rstrip("!"), value)
        if bad:
            code = (
                "unsafe-regex" if kind.startswith("regex") and "rejected" in bad else "bad-argument"
            )
            msg = f"{label}: argument {arg!r}: {bad}"
            problems.append(SuiteProblem(code, msg, f"{where}.kwargs.{arg}", exp.type))
    if spec.bounds:
        low: Any = exp.kwargs.get("min_value")
        high: Any = exp.kwargs.get("max_value")
        if low is None and high is None:
            msg = f"{label}: give 'min_value', 'max_value' or both"
            problems.append(SuiteProblem("bad-argument", msg, f"{where}.kwargs", exp.type))
        elif _is_number(low) and _is_number(high) and low > high:
            msg = f"{label}: 'min_value' {low} is greater than 'max_value' {high}"
            problems.append(SuiteProblem("bad-argument", msg, f"{where}.kwargs", exp.type))
    return problems


def _kind_problem(kind: str, value: Any) -> str | None:
    """Why ``value`` does not fit argument kind ``kind``, or None."""
    if kind == "column":
        return None if isinstance(value, str) and value else "expected a column name"
    if kind == "columns":
        ok = isinstance(value, list) and value and all(isinstance(v, str) for v in value)
        return None if ok else "expected a non-empty list of column names"
    if kind == "text":
        return None if isinstance(value, str) and 0 < len(value) <= 200 else "expected text"
    if kind == "bool":
        return None if isinstance(value, bool) else f"expected true or false, got {value!r}"
    if kind == "count":
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
        return None if ok else f"expected a whole number >= 0, got {value!r}"
    if kind == "fraction":
        ok = _is_number(value) and 0 <= value <= 1
        return None if ok else f"expected a number between 0 and 1, got {value!r}"
    if kind == "bound":
        ok = _is_number(value) or (isinstance(value, str) and _parse_time(value) is not None)
        return None if ok else f"expected a number or an ISO 8601 date/time, got {value!r}"
    if kind == "values":
        scalar = (str, int, float, bool)
        ok = isinstance(value, list) and all(isinstance(v, scalar) for v in value)
        return None if ok else "expected a list of numbers or strings"
    if kind == "regex":
        if not isinstance(value, str):
            return "expected a regular expression (text)"
        reason = regex_problem(value)
        return None if reason is None else f"regular expression {value!r} rejected: {reason}"
    raise AssertionError(f"unknown argument kind {kind}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _parse_time(value: Any) -> datetime | date | None:
    if not isinstance(value, str):
        return None
    for parse in (datetime.fromisoformat, date.fromisoformat):
        try:
            return parse(value)
        except ValueError:
            continue
    return None
