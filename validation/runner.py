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
great-expectations (GX 1.x, over record-batch chunks)
    per-row predicates: ``expect_column_values_to_be_between``, ``…_to_be_in_set``,
    ``…_to_not_be_in_set``, ``…_to_match_regex``, ``…_to_not_match_regex``,
    ``expect_column_value_lengths_to_be_between``. Each row passes or fails on its own, so
    unexpected counts add up exactly across chunks. Chunks come from
    ``ParquetFile.iter_batches`` (only the columns these expectations use), become pandas
    frames, and are validated by one suite in an ephemeral GX context with a pandas data
    source, shared by the process. Counts are summed, the first few distinct unexpected values
    kept, and ``mostly`` applied to the totals (never per chunk).

GX is imported on first use only (its import takes seconds) with ``GX_ANALYTICS_ENABLED=false``
set first; an ephemeral context has no cloud or store configured, so nothing reaches the network.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from validation.defaults import DriftTolerance, default_suite
from validation.metrics import (
    DEFAULT_MEMORY_LIMIT,
    Profile,
    Source,
    column_kind,
    compute_profile,
    duplicate_sample,
    read_schema,
)
from validation.report import ExpectationResult, Mask, Report, ReportError
from validation.suites import Expectation, Suite, check_expectation

# A chunk's pandas frame should stay around this size (GX adds a few copies while it works).
CHUNK_TARGET_BYTES = 64 * 1024 * 1024
MIN_CHUNK_ROWS, MAX_CHUNK_ROWS = 1_000, 1_000_000
_UNIQUE = ("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique")

_gx_lock = threading.Lock()
_gx_state: dict[str, Any] = {}


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
            results[i] = _result(exp, False, "none", error="; ".join(p.message for p in problems))
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
                results[i] = _result(exp, False, "none", error="the data could not be scanned")
            elif exp.engine == "metrics":
                results[i] = _metric_result(exp, profile, source, unexpected_limit, memory_limit)
        except (duckdb.Error, ValueError, TypeError) as exc:  # a finding, not a crash
            results[i] = _result(exp, False, "none", error=f"could not be evaluated: {exc}")
    if rows and profile is not None:
        results.update(_row_results(source, schema, rows, chunk_rows, unexpected_limit))
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


def _result(
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


def _schema_result(exp: Expectation, schema: pa.Schema) -> ExpectationResult:
    names, kw = schema.names, exp.kwargs
    if exp.type == "expect_table_columns_to_match_ordered_list":
        return _result(exp, names == list(kw["column_list"]), "schema", names)
    if exp.type == "expect_table_columns_to_match_set":
        want, have = set(kw["column_set"]), set(names)
        ok = want == have if kw.get("exact_match", True) else want <= have
        return _result(exp, ok, "schema", names)
    if exp.type == "expect_table_column_count_to_equal":
        return _result(exp, len(names) == kw["value"], "schema", len(names))
    if exp.type == "expect_table_column_count_to_be_between":
        return _result(exp, _between(len(names), kw), "schema", len(names))
    if exp.type == "expect_column_to_exist":
        return _result(exp, kw["column"] in names, "schema", kw["column"] in names)
    if exp.type == "expect_column_values_to_be_of_type":
        actual = str(schema.field(kw["column"]).type)
        return _result(exp, _type_key(kw["type_"]) == _type_key(actual), "schema", actual)
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
        return _result(exp, _between(rows, kw), "duckdb", rows)
    if exp.type == "expect_table_row_count_to_equal":
        return _result(exp, rows == kw["value"], "duckdb", rows)
    if exp.type in _UNIQUE:
        cols = _key_columns(exp)
        key = profile.key(cols)
        assert key is not None  # requested from compute_profile above
        observed = {"non_null_rows": key.rows, "distinct": key.distinct}
        duplicates: tuple[int, list[Any]] = (0, [])
        if not key.unique:
            duplicates = duplicate_sample(source, cols, limit=limit, memory_limit=memory_limit)
        return _counted(exp, observed, key.rows, *duplicates, element_count=rows)
    col = profile.column(kw["column"])
    assert col is not None  # check_expectation found the column in the schema
    if exp.type == "expect_column_values_to_not_be_null":
        return _counted(exp, col.null_count, rows, col.null_count, [], element_count=rows)
    if exp.type == "expect_column_proportion_of_non_null_values_to_be_between":
        share = 1.0 - col.null_count / rows if rows else None
        return _result(exp, share is not None and _between(share, kw), "duckdb", share)
    if exp.type == "expect_column_unique_value_count_to_be_between":
        distinct = col.exact_distinct_count
        return _result(exp, distinct is not None and _between(distinct, kw), "duckdb", distinct)
    value = {"min": col.min, "max": col.max, "mean": col.mean}[exp.type.split("_")[2]]
    if col.kind == "temporal":
        ok = value is not None and _between(_instant(value), kw, convert=_instant)
    else:
        ok = value is not None and _between(value, kw)
    return _result(exp, ok, "duckdb", value)


def _counted(
    exp: Expectation, observed: Any, denominator: int, unexpected: int, values: list[Any], **kw: Any
) -> ExpectationResult:
    """A result judged by its share of unexpected values against ``mostly`` (GX's rule)."""
    share = unexpected / denominator if denominator else 0.0
    ok = 1.0 - share >= float(exp.kwargs.get("mostly", 1.0))
    return _result(
        exp,
        ok,
        kw.pop("engine", "duckdb"),
        observed,
        unexpected_count=unexpected,
        unexpected_percent=round(100.0 * share, 6),
        unexpected_values=values,
        **kw,
    )


def _between(value: Any, kw: dict[str, Any], convert: Any = None) -> bool:
    low, high = kw.get("min_value"), kw.get("max_value")
    if convert is not None:
        low, high = (None if b is None else convert(b) for b in (low, high))
    if low is not None and (value <= low if kw.get("strict_min") else value < low):
        return False
    return not (high is not None and (value >= high if kw.get("strict_max") else value > high))


def _instant(value: Any) -> datetime:
    """An ISO date/time (ours or DuckDB's) as an aware datetime; naive means UTC."""
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    if isinstance(parsed, date) and not isinstance(parsed, datetime):
        parsed = datetime(parsed.year, parsed.month, parsed.day)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass
class _Tally:
    elements: int = 0
    missing: int = 0
    unexpected: int = 0
    values: list[Any] = field(default_factory=list)
    error: str | None = None


def _row_results(
    source: Source,
    schema: pa.Schema,
    items: list[tuple[int, Expectation]],
    chunk_rows: int | None,
    limit: int,
) -> dict[int, ExpectationResult]:
    columns = sorted({e.column for _, e in items if e.column})
    types = {name: schema.field(name).type for name in columns}
    tallies = {i: _Tally() for i, _ in items}
    rows = chunk_rows or _auto_chunk_rows(source, schema, columns)
    with _gx_lock:  # one GX context per process; GX objects are not made for concurrent use
        gx_suite, batch_definition = _gx_suite(schema, items)
        try:
            for chunk in _chunks(source, columns, rows):
                frame = _for_pandas(chunk).to_pandas(date_as_object=False, self_destruct=True)
                batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
                outcome = batch.validate(
                    gx_suite,
                    result_format={"result_format": "BASIC", "partial_unexpected_count": limit},
                )
                for res in outcome.results:
                    _add(tallies[res.expectation_config.meta["datahamn_index"]], res, limit, types)
        except Exception as exc:  # reading the data or GX itself failed: a finding, not a crash
            for tally in tallies.values():
                tally.error = tally.error or f"could not run: {type(exc).__name__}: {exc}"
    out = {}
    for i, exp in items:
        t = tallies[i]
        if t.error:
            out[i] = _result(exp, False, "great-expectations", error=t.error)
            continue
        non_missing = t.elements - t.missing
        out[i] = _counted(
            exp,
            round(100.0 * t.unexpected / non_missing, 6) if non_missing else 0.0,
            non_missing,
            t.unexpected,
            t.values,
            engine="great-expectations",
            element_count=t.elements,
            missing_count=t.missing,
        )
    return out


def _add(tally: _Tally, res: Any, limit: int, types: Mapping[str, pa.DataType]) -> None:
    if tally.error:
        return
    if res.exception_info.get("raised_exception"):
        tally.error = str(res.exception_info.get("exception_message") or "expectation failed")
        return
    r = res.result
    tally.elements += int(r.get("element_count") or 0)
    tally.missing += int(r.get("missing_count") or 0)
    tally.unexpected += int(r.get("unexpected_count") or 0)
    dtype = types[res.expectation_config.kwargs["column"]]
    for value in r.get("partial_unexpected_list") or []:
        plain = _plain(value, dtype)
        if len(tally.values) < limit and plain not in tally.values:
            tally.values.append(plain)


def _plain(value: Any, dtype: pa.DataType) -> Any:
    """A JSON-able value as the column holds it, undoing pandas' conversions (integers made
    float by nulls, dates widened to timestamps for speed in ``_for_pandas``)."""
    if pa.types.is_date(dtype) and hasattr(value, "date"):
        return value.date().isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        value = value.item()
    if pa.types.is_integer(dtype) and isinstance(value, float) and value.is_integer():
        return int(value)
    return value if isinstance(value, int | float | str | bool) or value is None else str(value)


def _for_pandas(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Widen numbers to 64 bits and times to nanoseconds: GX compares only int64/float64 and
    datetime64[ns] columns vectorised, everything else one Python call per value (~20x slower).
    """
    arrays = []
    for array in batch.columns:
        t = array.type
        target = None
        if pa.types.is_integer(t) and t != pa.int64():
            target = pa.int64()
        elif pa.types.is_floating(t) and t != pa.float64():
            target = pa.float64()
        elif pa.types.is_timestamp(t) and t.unit != "ns":
            target = pa.timestamp("ns", tz=t.tz)
        elif pa.types.is_date(t):
            target = pa.timestamp("ns")
        try:
            arrays.append(array.cast(target) if target else array)
        except pa.ArrowInvalid:  # beyond int64 or year 2262: keep it, slower but exact
            arrays.append(array)
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def _chunks(source: Source, columns: list[str], rows: int) -> Iterator[pa.RecordBatch]:
    if isinstance(source, pa.Table):
        yield from source.select(columns).to_batches(max_chunksize=rows)
        return
    paths = [source] if isinstance(source, str | os.PathLike) else list(source)
    for path in paths:
        # pre_buffer=False: the default buffers row groups ahead without a bound.
        with pq.ParquetFile(path, pre_buffer=False) as parquet:
            yield from parquet.iter_batches(batch_size=rows, columns=columns)


def _auto_chunk_rows(source: Source, schema: pa.Schema, columns: list[str]) -> int:
    """Rows per chunk so that a chunk's pandas frame is about ``CHUNK_TARGET_BYTES``."""
    if isinstance(source, pa.Table):
        nbytes = sum(source.column(c).nbytes for c in columns)
        per_row = nbytes / max(source.num_rows, 1)
    else:
        first = source if isinstance(source, str | os.PathLike) else source[0]
        meta = pq.ParquetFile(first).metadata
        wanted = set(columns)
        nbytes = sum(
            meta.row_group(g).column(c).total_uncompressed_size
            for g in range(meta.num_row_groups)
            for c in range(meta.num_columns)
            if meta.row_group(g).column(c).path_in_schema in wanted
        )
        per_row = nbytes / max(meta.num_rows, 1)
    # Text becomes one Python object per value in pandas: about 50 bytes more than in Arrow.
    per_row += 50 * sum(column_kind(schema.field(c).type) == "string" for c in columns)
    return int(min(MAX_CHUNK_ROWS, max(MIN_CHUNK_ROWS, CHUNK_TARGET_BYTES // max(per_row, 1))))


def _gx_suite(schema: pa.Schema, items: list[tuple[int, Expectation]]) -> tuple[Any, Any]:
    """The GX suite for ``items`` and the process's shared pandas batch definition."""
    if not _gx_state:
        # Must be set before GX is imported; GX 1.x reads it at import and context creation.
        os.environ["GX_ANALYTICS_ENABLED"] = "false"
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig
        from great_expectations.expectations.expectation_configuration import (
            ExpectationConfiguration,
        )

        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(
            globally=False, metric_calculations=False
        )
        asset = context.data_sources.add_pandas("datahamn").add_dataframe_asset("chunk")
        _gx_state.update(
            gx=gx,
            config=ExpectationConfiguration,
            batch_definition=asset.add_batch_definition_whole_dataframe("whole"),
        )
    gx, config = _gx_state["gx"], _gx_state["config"]
    expectations = []
    for i, exp in items:
        # `mostly` is judged on the totals across chunks, so GX gets the bare predicate.
        kwargs = {k: v for k, v in exp.kwargs.items() if k != "mostly"}
        dtype = schema.field(exp.kwargs["column"]).type
        if pa.types.is_temporal(dtype):
            for bound in ("min_value", "max_value"):
                if kwargs.get(bound) is not None:
                    kwargs[bound] = _pandas_instant(kwargs[bound], dtype)
        meta = {"datahamn_index": i}
        expectations.append(config(type=exp.type, kwargs=kwargs, meta=meta).to_domain_obj())
    suite = gx.ExpectationSuite(name="datahamn-rows", expectations=expectations)
    return suite, _gx_state["batch_definition"]


def _pandas_instant(value: Any, dtype: pa.DataType) -> datetime:
    """A bound comparable with the column's pandas values (aware only if the column is)."""
    instant = _instant(value)
    return instant if getattr(dtype, "tz", None) else instant.replace(tzinfo=None)
