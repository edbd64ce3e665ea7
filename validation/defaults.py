"""The default suite every version is checked against, derived from the data itself.

Rules (``docs/validation.md`` has the reasoning for publishers):

=======================  ========  ======================================================
rule                     severity  expectations
=======================  ========  ======================================================
row-count                critical  ``expect_table_row_count_to_be_between(min_value=1)``
key                      critical  declared key columns: ``…_to_not_be_null`` on each, and
                                   ``…_values_to_be_unique`` (one column) or
                                   ``expect_compound_columns_to_be_unique`` (several)
schema                   critical  with a previous version: the column list (names and
                                   order) equals the previous one, and every column kept
                                   has the previous type (``…_to_be_of_type``)
drift                    warning   with a previous version, per column of unchanged type:
                                   null fraction within ``null_fraction`` of the previous
                                   one; for numeric columns, min and max within ``range`` ×
                                   the previous range's width of the previous min and max
=======================  ========  ======================================================

When the publisher accepts a schema change, the schema expectations stay (so the report
shows what changed) but are downgraded to ``warning``. Types are otherwise consistent by
construction: a Parquet column has exactly one type within a version.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from validation.metrics import Profile
from validation.suites import Expectation, Severity, Suite


@dataclass(frozen=True)
class DriftTolerance:
    # Absolute change of a column's null fraction (0.05 = five percentage points).
    null_fraction: float = 0.05
    # How far min and max may move, as a fraction of the previous max - min.
    range: float = 0.10


@dataclass(frozen=True)
class SchemaChange:
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    retyped: tuple[tuple[str, str, str], ...] = ()  # (column, previous type, new type)
    reordered: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.retyped or self.reordered)

    def describe(self) -> str:
        parts = [f"added {', '.join(self.added)}"] if self.added else []
        parts += [f"removed {', '.join(self.removed)}"] if self.removed else []
        parts += [f"{c}: {old} -> {new}" for c, old, new in self.retyped]
        parts += ["columns reordered"] if self.reordered else []
        return "; ".join(parts) or "no change"


def schema_change(previous: Profile, schema: pa.Schema) -> SchemaChange:
    """How ``schema`` differs from the previous version's."""
    before = {c.name: c.type for c in previous.columns}
    after = {f.name: str(f.type) for f in schema}
    kept_before = [n for n in before if n in after]
    kept_after = [n for n in after if n in before]
    return SchemaChange(
        added=tuple(n for n in after if n not in before),
        removed=tuple(n for n in before if n not in after),
        retyped=tuple((n, before[n], after[n]) for n in kept_before if before[n] != after[n]),
        reordered=kept_before != kept_after,
    )


def default_suite(
    schema: pa.Schema,
    *,
    previous: Profile | None = None,
    key_columns: Sequence[str] = (),
    accept_schema_change: bool = False,
    tolerance: DriftTolerance = DriftTolerance(),
    name: str = "default",
) -> Suite:
    """The default expectations for data with ``schema`` (see the module docstring)."""
    out: list[Expectation] = [
        _exp("expect_table_row_count_to_be_between", "row-count", "critical", min_value=1)
    ]
    keys = list(dict.fromkeys(key_columns))
    for key in keys:
        out.append(_exp("expect_column_values_to_not_be_null", "key", "critical", column=key))
    if len(keys) == 1:
        out.append(_exp("expect_column_values_to_be_unique", "key", "critical", column=keys[0]))
    elif keys:
        out.append(
            _exp("expect_compound_columns_to_be_unique", "key", "critical", column_list=keys)
        )
    if previous is None:
        return Suite(name, tuple(out))

    change = schema_change(previous, schema)
    schema_severity: Severity = "warning" if accept_schema_change else "critical"
    accepted = {"accepted_change": change.describe()} if accept_schema_change else {}
    out.append(
        _exp(
            "expect_table_columns_to_match_ordered_list",
            "schema",
            schema_severity,
            column_list=[c.name for c in previous.columns],
            **accepted,
        )
    )
    current = {f.name: f for f in schema}
    for col in previous.columns:
        if col.name in current:
            out.append(
                _exp(
                    "expect_column_values_to_be_of_type",
                    "schema",
                    schema_severity,
                    column=col.name,
                    type_=col.type,
                )
            )
    retyped = {c for c, _, _ in change.retyped}
    for col in previous.columns:
        if col.name in current and col.name not in retyped:
            out += _drift(previous, col.name, tolerance)
    return Suite(name, tuple(out))


def _drift(previous: Profile, column: str, tolerance: DriftTolerance) -> list[Expectation]:
    prof = previous.column(column)
    fraction = previous.null_fraction(column)
    if prof is None or fraction is None or previous.row_count == 0:
        return []
    # Expressed as the non-null proportion because that is the GX expectation that exists.
    low = max(0.0, fraction - tolerance.null_fraction)
    high = min(1.0, fraction + tolerance.null_fraction)
    out = [
        _exp(
            "expect_column_proportion_of_non_null_values_to_be_between",
            "drift",
            "warning",
            column=column,
            min_value=round(1.0 - high, 6),
            max_value=round(1.0 - low, 6),
            previous_null_fraction=round(fraction, 6),
        )
    ]
    if prof.kind == "numeric" and _is_number(prof.min) and _is_number(prof.max):
        lo, hi = float(prof.min), float(prof.max)  # type: ignore[arg-type]
        width = hi - lo
        # A constant column has no width: let it move by a share of its magnitude instead.
        margin = tolerance.range * (width if width > 0 else max(abs(lo), 1.0))
        for typ, value in (
            ("expect_column_min_to_be_between", lo),
            ("expect_column_max_to_be_between", hi),
        ):
            out.append(
                _exp(
                    typ,
                    "drift",
                    "warning",
                    column=column,
                    min_value=value - margin,
                    max_value=value + margin,
                    previous=value,
                )
            )
    return out


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_META_KEYS = {"previous", "previous_null_fraction", "accepted_change"}


def _exp(typ: str, rule: str, severity: Severity, **kwargs: Any) -> Expectation:
    """An expectation tagged with the default rule it comes from (shown in reports)."""
    meta = {"rule": rule, **{k: v for k, v in kwargs.items() if k in _META_KEYS}}
    args = {k: v for k, v in kwargs.items() if k not in _META_KEYS}
    return Expectation(typ, args, severity, meta)
