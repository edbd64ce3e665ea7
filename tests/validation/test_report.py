"""Reports: summary and decision, JSON round trip, masking, and the escaped HTML page."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pytest

from validation.metrics import compute_profile
from validation.report import (
    REPORT_FORMAT,
    ExpectationResult,
    Report,
    ReportError,
    mask_columns,
    render_html,
)
from validation.runner import validate

SCRIPT = "<script>alert('pwnd')</script>"


def _result(success: bool, severity: str = "critical", **kw: Any) -> ExpectationResult:
    defaults: dict[str, Any] = {
        "expectation": "expect_column_values_to_be_in_set",
        "kwargs": {"column": "e_post", "value_set": ["a"]},
        "engine": "great-expectations",
    }
    return ExpectationResult(**{**defaults, **kw}, severity=severity, success=success)


def _report(*results: ExpectationResult, **kw: Any) -> Report:
    return Report(suite="s", source="/data/x.parquet", results=results, **kw)


def test_summary_and_decision() -> None:
    assert _report(_result(True), _result(True)).decision == "publish"
    warned = _report(_result(True), _result(False, "warning"))
    assert warned.decision == "publish-with-warnings"
    rejected = _report(_result(True), _result(False, "warning"), _result(False), _result(False))
    assert rejected.decision == "reject"
    summary = rejected.summary
    assert (summary.total, summary.passed, summary.warnings, summary.failed) == (4, 1, 1, 2)
    assert summary.score == 25.0
    assert [r.status for r in rejected.results] == ["passed", "warning", "failed", "failed"]
    unreadable = _report(errors=(ReportError("source-error", "truncated file"),))
    assert unreadable.decision == "reject" and unreadable.summary.score == 100.0


def test_json_round_trip_with_profile() -> None:
    profile = compute_profile(pa.table({"e_post": ["a", None]}), keys=[["e_post"]])
    report = _report(
        _result(False, unexpected_count=3, unexpected_values=["x", 2, None], observed_value=60.0),
        _result(True, "warning", meta={"rule": "drift", "previous": 1.5}),
        errors=(ReportError("source-error", "x"),),
        profile=profile,
        row_count=2,
        duration_seconds=0.5,
    )
    text = report.to_json()
    data = json.loads(text)
    assert data["format"] == REPORT_FORMAT
    assert data["decision"] == "reject"
    assert data["summary"] == {"total": 2, "passed": 1, "warnings": 0, "failed": 1, "score": 50.0}
    assert data["results"][0]["status"] == "failed"
    assert Report.from_json(text) == report
    with pytest.raises(ValueError, match="unsupported report format"):
        Report.from_dict({**data, "format": "something/2"})


def test_html_escapes_values_from_the_data() -> None:
    report = _report(
        _result(False, unexpected_count=1, unexpected_values=[SCRIPT]),
        _result(False, "warning", error=f"bad {SCRIPT}"),
        errors=(ReportError("source-error", SCRIPT),),
    )
    page = render_html(report, title=f"Rapport {SCRIPT}")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#39;pwnd&#39;)&lt;/script&gt;" in page
    assert page.startswith("<!doctype html>") and "reject" in page
    for label in ("Passed", "Warnings", "Failed", "Score"):
        assert label in page


def test_mask_hides_personal_values_everywhere() -> None:
    report = _report(
        _result(False, unexpected_count=2, unexpected_values=["anna@example.se", SCRIPT]),
        _result(
            True,
            expectation="expect_column_min_to_be_between",
            kwargs={"column": "e_post", "min_value": "a"},
            observed_value="anna@example.se",
            engine="duckdb",
        ),
        _result(
            False,
            expectation="expect_compound_columns_to_be_unique",
            kwargs={"column_list": ["e_post", "år"]},
            unexpected_values=[{"e_post": "bo@example.se", "år": 2024}],
            engine="duckdb",
        ),
        _result(False, kwargs={"column": "lan", "value_set": ["AB"]}, unexpected_values=["XX"]),
    )
    mask = mask_columns(["e_post"])
    masked = report.masked(mask)
    values, minimum, compound, other = masked.results
    assert values.unexpected_values == ["•••", "•••"] and values.masked
    assert minimum.observed_value == "•••" and minimum.masked
    assert compound.unexpected_values == [{"e_post": "•••", "år": 2024}]
    assert other.unexpected_values == ["XX"] and not other.masked
    page = render_html(report, mask=mask)
    assert "example.se" not in page
    assert "(masked)" in page and "<code>XX</code>" in page


def test_validate_applies_the_mask_before_the_report_exists() -> None:
    table = pa.table({"e_post": ["anna@example.se", "anna@example.se", "bo@example.se"]})
    report = validate(table, key_columns=["e_post"], mask=mask_columns(["e_post"]))
    unique = next(r for r in report.results if r.expectation.endswith("to_be_unique"))
    assert unique.unexpected_values == ["•••"] and unique.unexpected_count == 2
    assert "example.se" not in report.to_json()
