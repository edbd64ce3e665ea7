"""Building an :class:`ExpectationResult`: the pieces the runner's engines share."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from validation.report import ExpectationResult
from validation.suites import Expectation


def result(
    exp: Expectation, success: bool, engine: str, observed: Any = None, **extra: Any
) -> ExpectationResult:
    return ExpectationResult(
        expectation=exp.type,
        kwargs=dict(exp.kwargs),
        severity=exp.severity,
        success=success,
        engine=engine,
        observed_value=observed,
        meta=dict(exp.meta),
        **extra,
    )


def counted(
    exp: Expectation, observed: Any, denominator: int, unexpected: int, values: list[Any], **kw: Any
) -> ExpectationResult:
    """A result judged by its share of unexpected values against ``mostly`` (GX's rule)."""
    share = unexpected / denominator if denominator else 0.0
    ok = 1.0 - share >= float(exp.kwargs.get("mostly", 1.0))
    return result(
        exp,
        ok,
        kw.pop("engine", "duckdb"),
        observed,
        unexpected_count=unexpected,
        unexpected_percent=round(100.0 * share, 6),
        unexpected_values=values,
        **kw,
    )


def between(value: Any, kw: dict[str, Any], convert: Any = None) -> bool:
    low, high = kw.get("min_value"), kw.get("max_value")
    if convert is not None:
        low, high = (None if b is None else convert(b) for b in (low, high))
    if low is not None and (value <= low if kw.get("strict_min") else value < low):
        return False
    return not (high is not None and (value >= high if kw.get("strict_max") else value > high))


def instant(value: Any) -> datetime:
    """An ISO date/time (ours or DuckDB's) as an aware datetime; naive means UTC."""
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    if isinstance(parsed, date) and not isinstance(parsed, datetime):
        parsed = datetime(parsed.year, parsed.month, parsed.day)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
