"""The personal-data report (internal: use validation.personal_data)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, cast

from validation.pii.detectors import COLUMN_NAME_HINT, FINDING_TYPES, mask_value

Confidence = Literal["high", "medium", "low"]
_CONFIDENCES: tuple[Confidence, ...] = ("high", "medium", "low")
_REPORT_FORMAT = "datahamn.personal-data-report"
_REPORT_VERSION = 1


@dataclass(frozen=True)
class Finding:
    """One (column, type) with how many values matched; ``examples`` are masked.

    ``rows_scanned`` is the number of values scanned in that column (list items for a column
    inside a list). For ``column-name-hint``, ``count`` is 0 and ``detail`` names what the column
    name suggests (``personnummer``, ``email``, ``phone``, ``address``, ``name``, ...).
    """

    column: str
    type: str
    count: int
    rows_scanned: int
    examples: tuple[str, ...] = ()
    confidence: Confidence = "low"
    detail: str = ""


def _same_column(hinted: str, scanned: str) -> bool:
    return scanned == hinted or scanned.startswith((hinted + ".", hinted + "["))


@dataclass(frozen=True)
class PersonalDataReport:
    """What the scan found, in schema order; equal scans give equal reports (batch size and
    file vs. table do not matter), so a stored report can be compared with a fresh one."""

    findings: tuple[Finding, ...]
    rows_scanned: int
    columns_scanned: tuple[str, ...]  # value-scanned columns, nested ones as "a.b" / "a[]"
    rows_total: int | None = None  # rows in the file; larger than rows_scanned when sampled

    @property
    def has_findings(self) -> bool:
        return bool(self.findings)

    @property
    def requires_review(self) -> bool:
        """The one boolean the pipeline acts on: hold the version for review.

        True for any high- or medium-confidence finding, or for a column-name hint on a column
        whose values also matched (at any confidence). A name hint alone is too weak.
        """
        if any(f.confidence != "low" for f in self.findings):
            return True
        hinted = [f.column for f in self.findings if f.type == COLUMN_NAME_HINT]
        valued = [f.column for f in self.findings if f.type != COLUMN_NAME_HINT]
        return any(_same_column(h, v) for h in hinted for v in valued)

    def value_mask(self) -> Callable[[str, Any], Any]:
        """A ``mask(column, value)`` for other reports (``validation.validate(mask=...)``):
        values of every column with a finding, name hints included, are masked as the
        column's strongest finding type; other columns and None pass through unchanged.
        """
        rank = {"high": 0, "medium": 1, "low": 2}
        flagged: dict[str, str] = {}
        for f in sorted(
            self.findings, key=lambda f: (f.type == COLUMN_NAME_HINT, rank[f.confidence])
        ):
            # Reports name the top-level column; a finding in "a.b" or "a[]" flags "a" too.
            for column in {f.column, f.column.split(".")[0].split("[")[0]}:
                flagged.setdefault(column, f.type)

        def mask(column: str, value: Any) -> Any:
            kind = flagged.get(column)
            return value if kind is None or value is None else mask_value(kind, value)

        return mask

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": _REPORT_FORMAT,
                "version": _REPORT_VERSION,
                "rows_scanned": self.rows_scanned,
                "rows_total": self.rows_total,
                "columns_scanned": list(self.columns_scanned),
                "requires_review": self.requires_review,  # informational; derived on load
                "findings": [
                    {
                        "column": f.column,
                        "type": f.type,
                        "count": f.count,
                        "rows_scanned": f.rows_scanned,
                        "examples": list(f.examples),
                        "confidence": f.confidence,
                        "detail": f.detail,
                    }
                    for f in self.findings
                ],
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> PersonalDataReport:
        """Parse ``to_json`` output; ValueError (naming the field, never a value) if malformed."""
        data = _expect(json.loads(text), dict, "report")
        if data.get("format") != _REPORT_FORMAT or data.get("version") != _REPORT_VERSION:
            raise ValueError("not a personal-data report of a supported version")
        findings = []
        for raw in _expect(data.get("findings"), list, "findings"):
            item = _expect(raw, dict, "finding")
            kind = _expect(item.get("type"), str, "finding type")
            confidence = item.get("confidence")
            if kind not in FINDING_TYPES or confidence not in _CONFIDENCES:
                raise ValueError("finding has an unknown type or confidence")
            examples = _expect(item.get("examples"), list, "finding examples")
            findings.append(
                Finding(
                    column=_expect(item.get("column"), str, "finding column"),
                    type=kind,
                    count=_expect(item.get("count"), int, "finding count"),
                    rows_scanned=_expect(item.get("rows_scanned"), int, "finding rows_scanned"),
                    examples=tuple(_expect(e, str, "finding example") for e in examples),
                    confidence=cast(Confidence, confidence),
                    detail=_expect(item.get("detail", ""), str, "finding detail"),
                )
            )
        total = data.get("rows_total")
        return cls(
            findings=tuple(findings),
            rows_scanned=_expect(data.get("rows_scanned"), int, "rows_scanned"),
            columns_scanned=tuple(
                _expect(c, str, "column name")
                for c in _expect(data.get("columns_scanned"), list, "columns_scanned")
            ),
            rows_total=None if total is None else _expect(total, int, "rows_total"),
        )


_T = TypeVar("_T")


def _expect(value: object, kind: type[_T], what: str) -> _T:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"{what}: expected {kind.__name__}")
    return value
