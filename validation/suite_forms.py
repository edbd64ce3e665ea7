"""The two forms publishers write suites in, read into a :class:`validation.suites.Suite`.

- GX 1.x suite JSON: ``{"name": …, "expectations": [{"type": "expect_…", "kwargs": {…},
  "meta": {…}, "severity": "critical"}]}`` (what ``ExpectationSuite.to_json_dict()`` emits;
  GX's third severity ``info`` is read as ``warning``: it never blocks), or
- the short YAML form (``docs/validation.md``), expanded here into the same expectations.
  YAML entries may also be written in the long form (``type`` + ``kwargs``).

Problems are collected, not raised one by one, so an upload gets every mistake in one answer.
"""

from __future__ import annotations

import difflib
import json
from typing import Any, Literal

from validation.suites import SPECS, Expectation, Suite, SuiteError, SuiteProblem, static_problems

MAX_SUITE_BYTES = 1_000_000
MAX_EXPECTATIONS = 2_000
# Run-time options GX accepts in kwargs; the runner sets them itself, so they are dropped.
_IGNORED_KWARGS = {"result_format", "catch_exceptions", "include_config"}
_ITEM_KEYS = {"type", "kwargs", "meta", "severity", "id", "notes", "description"}
_ITEM_KEYS |= {"rendered_content"}

# Short YAML keys for a column entry -> (expectation type, how the value maps to kwargs).
_SHORT_COLUMN: dict[str, tuple[str, str]] = {
    "exists": ("expect_column_to_exist", "flag"),
    "not_null": ("expect_column_values_to_not_be_null", "flag"),
    "unique": ("expect_column_values_to_be_unique", "flag"),
    "type": ("expect_column_values_to_be_of_type", "type_"),
    "between": ("expect_column_values_to_be_between", "pair"),
    "in_set": ("expect_column_values_to_be_in_set", "value_set"),
    "not_in_set": ("expect_column_values_to_not_be_in_set", "value_set"),
    "matches": ("expect_column_values_to_match_regex", "regex"),
    "not_matches": ("expect_column_values_to_not_match_regex", "regex"),
    "length_between": ("expect_column_value_lengths_to_be_between", "pair"),
    "min_between": ("expect_column_min_to_be_between", "pair"),
    "max_between": ("expect_column_max_to_be_between", "pair"),
    "mean_between": ("expect_column_mean_to_be_between", "pair"),
    "non_null_fraction_between": (
        "expect_column_proportion_of_non_null_values_to_be_between",
        "pair",
    ),
    "distinct_count_between": ("expect_column_unique_value_count_to_be_between", "pair"),
}
_SHORT_TABLE: dict[str, tuple[str, str]] = {
    "row_count_between": ("expect_table_row_count_to_be_between", "pair"),
    "row_count": ("expect_table_row_count_to_equal", "value"),
    "columns": ("expect_table_columns_to_match_ordered_list", "column_list"),
    "column_set": ("expect_table_columns_to_match_set", "column_set"),
    "column_count": ("expect_table_column_count_to_equal", "value"),
    "column_count_between": ("expect_table_column_count_to_be_between", "pair"),
    "unique_together": ("expect_compound_columns_to_be_unique", "column_list"),
}


def parse_suite(
    text: str | bytes, *, fmt: Literal["json", "yaml"] | None = None, name: str = "publisher"
) -> Suite:
    """Read a publisher suite (GX 1.x JSON or the short YAML form) or raise SuiteError.

    Schema-independent mistakes (syntax, unknown types, bad arguments, unsafe regexes) are
    reported here; :func:`check_suite` adds those that need the data's schema.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise SuiteError([SuiteProblem("invalid-encoding", "suite is not UTF-8")]) from None
    if len(text) > MAX_SUITE_BYTES:
        raise SuiteError([SuiteProblem("suite-too-large", f"over {MAX_SUITE_BYTES} bytes")])
    fmt = fmt or ("json" if text.lstrip().startswith("{") else "yaml")
    doc = _load_json(text) if fmt == "json" else _load_yaml(text)
    if not isinstance(doc, dict) or not isinstance(doc.get("expectations"), list):
        raise SuiteError(
            [SuiteProblem("invalid-structure", "a suite is a mapping with an 'expectations' list")]
        )
    items: list[Any] = doc["expectations"]
    if len(items) > MAX_EXPECTATIONS:
        raise SuiteError([SuiteProblem("suite-too-large", f"over {MAX_EXPECTATIONS} entries")])
    problems: list[SuiteProblem] = []
    found: list[tuple[str, Expectation]] = []  # (where it was written, expectation)
    for i, item in enumerate(items):
        where = f"expectations[{i}]"
        if isinstance(item, dict) and "type" in item:
            found += _from_long(item, where, problems)
        elif isinstance(item, dict) and ("column" in item or "table" in item):
            found += _from_short(item, where, problems)
        else:
            msg = f"{where}: an entry needs 'type' (GX form), 'column' or 'table'"
            problems.append(SuiteProblem("invalid-structure", msg, where))
    for where, exp in found:
        problems += static_problems(exp, where)
    if problems:
        raise SuiteError(problems)
    meta, suite_name = doc.get("meta"), doc.get("name")
    return Suite(
        suite_name if isinstance(suite_name, str) else name,
        tuple(exp for _, exp in found),
        dict(meta) if isinstance(meta, dict) else {},
    )


def _severity(raw: Any) -> Any:
    # GX's "info" never blocks publication, which is what "warning" means here.
    return "warning" if raw == "info" else raw


def _from_long(
    item: dict[str, Any], where: str, problems: list[SuiteProblem]
) -> list[tuple[str, Expectation]]:
    for key in item.keys() - _ITEM_KEYS:
        msg = f"{where}: unknown key {key!r} (expected type, kwargs, meta, severity)"
        problems.append(SuiteProblem("invalid-structure", msg, f"{where}.{key}"))
    kwargs, meta, typ = item.get("kwargs", {}), item.get("meta") or {}, item["type"]
    if not isinstance(typ, str) or not isinstance(kwargs, dict) or not isinstance(meta, dict):
        msg = f"{where}: 'type' must be text, 'kwargs' and 'meta' mappings"
        problems.append(SuiteProblem("invalid-structure", msg, where))
        return []
    severity = _severity(item.get("severity", meta.get("severity", "critical")))
    kwargs = {k: v for k, v in kwargs.items() if k not in _IGNORED_KWARGS}
    meta = {k: v for k, v in meta.items() if k != "severity"}
    return [(where, Expectation(typ, kwargs, severity, meta))]


def _from_short(
    item: dict[str, Any], where: str, problems: list[SuiteProblem]
) -> list[tuple[str, Expectation]]:
    severity = _severity(item.get("severity", "critical"))
    out: list[tuple[str, Expectation]] = []
    if "column" in item:
        base: dict[str, Any] = {"column": item["column"]}
        table, checks = _SHORT_COLUMN, item.keys() - {"column", "severity", "mostly"}
        source = item
    else:
        base, table, source = {}, _SHORT_TABLE, item["table"]
        if not isinstance(source, dict) or item.keys() - {"table", "severity"}:
            msg = f"{where}: 'table' takes a mapping of checks; only 'severity' may sit beside it"
            problems.append(SuiteProblem("invalid-structure", msg, where))
            return []
        checks = set(source)
    for key in [k for k in source if k in checks]:  # in the order written
        if key not in table:
            close = difflib.get_close_matches(key, list(table), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            msg = f"{where}: unknown check {key!r}{hint}"
            problems.append(SuiteProblem("unknown-expectation", msg, f"{where}.{key}"))
            continue
        typ, mapping = table[key]
        value, kwargs = source[key], dict(base)
        if mapping == "flag":
            if value is not True and value is not False:
                msg = f"{where}.{key}: expected true or false, got {value!r}"
                problems.append(SuiteProblem("bad-argument", msg, f"{where}.{key}", typ))
            if value is not True:
                continue
        elif mapping == "pair":
            if not isinstance(value, list) or len(value) != 2:
                msg = f"{where}.{key}: expected [min, max] (use null for an open end)"
                problems.append(SuiteProblem("bad-argument", msg, f"{where}.{key}", typ))
                continue
            kwargs.update(min_value=value[0], max_value=value[1])
        else:
            kwargs[mapping] = value
        if "mostly" in item and "mostly" in SPECS[typ].args:
            kwargs["mostly"] = item["mostly"]
        out.append((f"{where}.{key}", Expectation(typ, kwargs, severity)))
    return out


def _load_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        msg = f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        raise SuiteError([SuiteProblem("invalid-json", msg)]) from None


def _load_yaml(text: str) -> Any:
    import yaml  # type: ignore[import-untyped, unused-ignore]

    try:
        # Anchors/aliases let a few lines expand into gigabytes ("billion laughs"): refused.
        if any(isinstance(e, yaml.AliasEvent) for e in yaml.parse(text, Loader=yaml.SafeLoader)):
            refusal = SuiteProblem("invalid-yaml", "YAML anchors and aliases are not allowed")
            raise SuiteError([refusal])
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = getattr(exc, "problem", None) or str(exc)
        raise SuiteError([SuiteProblem("invalid-yaml", f"invalid YAML{where}: {reason}")]) from None
