"""Row-level expectations: Great Expectations over record-batch chunks of the data.

Per-row predicates (``expect_column_values_to_be_between``, ``…_in_set``, ``…_match_regex``,
value lengths, …) pass or fail row by row, so unexpected counts add up exactly across
chunks. Chunks come from ``ParquetFile.iter_batches`` (only the columns these expectations
use), become pandas frames, and are validated by one suite in an ephemeral GX context with a
pandas data source, shared by the process. Counts are summed, the first few distinct
unexpected values kept, and ``mostly`` applied to the totals (never per chunk).

GX is imported on first use only (its import takes seconds) with ``GX_ANALYTICS_ENABLED=false``
set first; an ephemeral context has no cloud or store configured, so nothing reaches the network.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from validation.metrics import Source, column_kind
from validation.report import ExpectationResult
from validation.results import counted, instant, result
from validation.suites import Expectation

# A chunk's pandas frame should stay around this size (GX adds a few copies while it works).
CHUNK_TARGET_BYTES = 64 * 1024 * 1024
MIN_CHUNK_ROWS, MAX_CHUNK_ROWS = 1_000, 1_000_000

_gx_lock = threading.Lock()
_gx_state: dict[str, Any] = {}


@dataclass
class _Tally:
    elements: int = 0
    missing: int = 0
    unexpected: int = 0
    values: list[Any] = field(default_factory=list)
    error: str | None = None


def row_results(
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
            out[i] = result(exp, False, "great-expectations", error=t.error)
            continue
        non_missing = t.elements - t.missing
        out[i] = counted(
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
    moment = instant(value)
    return moment if getattr(dtype, "tz", None) else moment.replace(tzinfo=None)
