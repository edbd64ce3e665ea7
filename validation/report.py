"""Validation reports: one result per expectation, a summary, and the publication decision.

Findings are data. A failed expectation, an expectation that could not run (``error``), and a
source that could not be read (``Report.errors``) all end up here rather than as exceptions;
the gate reads :attr:`Report.decision`:

- ``reject`` when a ``critical`` expectation failed or the source could not be read;
- ``publish-with-warnings`` when only ``warning`` expectations failed (the report is attached);
- ``publish`` otherwise.

Values taken from the data (unexpected values; observed min/max) may be personal. A
:data:`Mask` hook, ``mask(column, value) -> replacement``, is applied before a report is stored
or shown (``validate(mask=…)``, :meth:`Report.masked`, ``render_html(mask=…)``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from validation.metrics import Profile

Decision = Literal["publish", "publish-with-warnings", "reject"]
Status = Literal["passed", "warning", "failed"]
Mask = Callable[[str, Any], Any]
REPORT_FORMAT = "datahamn.validation.report/1"
# Expectations whose observed value is a value from the data (so the mask applies to it),
# rather than a statistic about it.
_OBSERVES_A_VALUE = {"expect_column_min_to_be_between", "expect_column_max_to_be_between"}


@dataclass(frozen=True)
class ExpectationResult:
    expectation: str  # the GX expectation type
    kwargs: dict[str, Any]
    severity: str  # "critical" | "warning"
    success: bool
    engine: str  # "schema" | "duckdb" | "great-expectations" | "none" (could not run)
    observed_value: Any = None
    element_count: int | None = None
    missing_count: int | None = None
    unexpected_count: int | None = None
    unexpected_percent: float | None = None  # of non-missing values, as GX reports it
    unexpected_values: list[Any] = field(default_factory=list)  # a few, not all
    error: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    masked: bool = False

    @property
    def status(self) -> Status:
        if self.success:
            return "passed"
        return "failed" if self.severity == "critical" else "warning"

    @property
    def column(self) -> str | None:
        value = self.kwargs.get("column")
        return value if isinstance(value, str) else None

    def describe(self) -> str:
        if self.column is not None:
            return f"{self.expectation} on column {self.column!r}"
        return self.expectation


@dataclass(frozen=True)
class ReportError:
    """A problem with the source as a whole (unreadable file, failed scan)."""

    type: str  # kebab-case, e.g. "source-error"
    message: str


@dataclass(frozen=True)
class Summary:
    total: int
    passed: int
    warnings: int  # failed expectations of severity "warning"
    failed: int  # failed expectations of severity "critical"
    score: float  # percentage of expectations passed, 0–100


@dataclass(frozen=True)
class Report:
    suite: str
    source: str
    results: tuple[ExpectationResult, ...]
    row_count: int | None = None
    errors: tuple[ReportError, ...] = ()
    profile: Profile | None = None  # saved and handed to the next version's default suite
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    duration_seconds: float = 0.0
    format: str = REPORT_FORMAT

    @property
    def summary(self) -> Summary:
        total = len(self.results)
        passed = sum(r.success for r in self.results)
        warnings = sum(r.status == "warning" for r in self.results)
        score = round(100.0 * passed / total, 1) if total else 100.0
        return Summary(total, passed, warnings, total - passed - warnings, score)

    @property
    def decision(self) -> Decision:
        if self.errors or any(r.status == "failed" for r in self.results):
            return "reject"
        if any(r.status == "warning" for r in self.results):
            return "publish-with-warnings"
        return "publish"

    def masked(self, mask: Mask) -> Report:
        """A copy with values from the data passed through ``mask``."""
        return replace(self, results=tuple(_mask_result(r, mask) for r in self.results))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["profile"] = self.profile.to_dict() if self.profile else None
        data["results"] = [{**asdict(r), "status": r.status} for r in self.results]
        # Derived, but written out so that machines reading the JSON need no rules of ours.
        data["summary"] = asdict(self.summary)
        data["decision"] = self.decision
        return data

    def to_json(self, *, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent, default=str)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        if data.get("format") != REPORT_FORMAT:
            raise ValueError(f"unsupported report format {data.get('format')!r}")
        results = tuple(
            ExpectationResult(**{k: v for k, v in r.items() if k != "status"})
            for r in data["results"]
        )
        return cls(
            suite=data["suite"],
            source=data["source"],
            results=results,
            row_count=data.get("row_count"),
            errors=tuple(ReportError(**e) for e in data.get("errors", ())),
            profile=Profile.from_dict(data["profile"]) if data.get("profile") else None,
            created_at=data["created_at"],
            duration_seconds=data.get("duration_seconds", 0.0),
        )

    @classmethod
    def from_json(cls, text: str) -> Report:
        return cls.from_dict(json.loads(text))


def mask_columns(columns: Iterable[str], replacement: str = "•••") -> Mask:
    """A mask hiding every value of ``columns`` (e.g. those the personal-data scan flagged)."""
    hidden = frozenset(columns)

    def mask(column: str, value: Any) -> Any:
        return replacement if column in hidden and value is not None else value

    return mask


def _mask_value(columns: list[str], value: Any, mask: Mask) -> Any:
    if isinstance(value, dict):  # a compound key's value: {column: value}
        return {k: mask(k, v) for k, v in value.items()}
    if len(columns) == 1:
        return mask(columns[0], value)
    return value


def _mask_result(result: ExpectationResult, mask: Mask) -> ExpectationResult:
    columns = [result.column] if result.column else list(result.kwargs.get("column_list") or [])
    if not columns:
        return result
    values = [_mask_value(columns, v, mask) for v in result.unexpected_values]
    observed = result.observed_value
    if result.expectation in _OBSERVES_A_VALUE:
        observed = _mask_value(columns, observed, mask)
    changed = values != result.unexpected_values or observed != result.observed_value
    return replace(
        result,
        unexpected_values=values,
        observed_value=observed,
        masked=result.masked or changed,
    )


def render_html(report: Report, *, mask: Mask | None = None, title: str | None = None) -> str:
    """A standalone, human-readable page for ``report`` (every value HTML-escaped)."""
    import jinja2

    if mask is not None:
        report = report.masked(mask)
    # autoescape=True: values come from publishers' data and must never become markup.
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["show"] = _show
    return env.from_string(_TEMPLATE).render(
        report=report, summary=report.summary, title=title or f"Validation report: {report.suite}"
    )


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#222}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ddd;padding:.4rem;
text-align:left;vertical-align:top}th{background:#f4f4f4}code{font-size:90%}
.passed{color:#1b7a2f}.warning{color:#9a6400}.failed{color:#b3261e}
.badge{display:inline-block;padding:.2rem .6rem;border-radius:.3rem;font-weight:600;
background:#eee}.summary span{margin-right:1.5rem}
</style></head><body>
<h1>{{ title }}</h1>
<p><span class="badge {{ {'publish': 'passed', 'publish-with-warnings': 'warning',
 'reject': 'failed'}[report.decision] }}">{{ report.decision }}</span></p>
<p class="summary"><span>Passed: <b>{{ summary.passed }}</b></span>
<span class="warning">Warnings: <b>{{ summary.warnings }}</b></span>
<span class="failed">Failed: <b>{{ summary.failed }}</b></span>
<span>Score: <b>{{ summary.score }}%</b></span></p>
<p>Source: <code>{{ report.source }}</code>{% if report.row_count is not none %}
 · rows: {{ "{:,}".format(report.row_count) }}{% endif %} · suite: {{ report.suite }}
 · {{ report.created_at }}</p>
{% if report.errors %}<h2>Errors</h2><ul>{% for e in report.errors %}
<li class="failed"><b>{{ e.type }}</b>: {{ e.message }}</li>{% endfor %}</ul>{% endif %}
<h2>Expectations</h2>
<table><thead><tr><th>Status</th><th>Severity</th><th>Expectation</th><th>Arguments</th>
<th>Observed</th><th>Unexpected</th></tr></thead><tbody>
{% for r in report.results %}<tr>
<td class="{{ r.status }}">{{ r.status }}</td><td>{{ r.severity }}</td>
<td>{{ r.describe() }}{% if r.meta.get('rule') %}<br><small>{{ r.meta.rule }}</small>
{% endif %}</td>
<td><code>{{ r.kwargs | show }}</code></td>
<td>{% if r.error %}<span class="failed">{{ r.error }}</span>{% else %}
{{ r.observed_value | show }}{% endif %}</td>
<td>{% if r.unexpected_count %}{{ r.unexpected_count }}{% if r.unexpected_percent is not none %}
 ({{ "%.3g" | format(r.unexpected_percent) }}%){% endif %}{% endif %}
{% if r.unexpected_values %}<br>e.g. {% for v in r.unexpected_values %}<code>{{ v | show }}</code>
{{- ", " if not loop.last }}{% endfor %}{% endif %}
{% if r.masked %} <small>(masked)</small>{% endif %}</td>
</tr>{% endfor %}</tbody></table>
</body></html>
"""
