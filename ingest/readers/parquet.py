"""Parquet passes through: batches copied into a zstd file with our row groups.

The schema is kept as it is (nested lists, maps and structs included), so what a partner
publishes is what a data scientist reads; only the compression and the row-group sizes
are ours. Duplicate or empty top-level names are renamed like every other table's.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ingest.errors import IngestError, Location
from ingest.options import FormatOptions
from ingest.readers.sink import ParquetSink, WrittenTable, column_names

BATCH_ROWS = 64 * 1024


def read_parquet(
    path: Path, *, name: str, out_path: Path, options: FormatOptions, where: Location
) -> WrittenTable:
    try:
        # pre_buffer=False: the default buffers row groups ahead without a bound, so memory
        # would grow with the file.
        source = pq.ParquetFile(path, pre_buffer=False)
        schema = source.schema_arrow
    except (pa.ArrowException, OSError) as exc:
        raise IngestError(
            "invalid-parquet", f"the Parquet file cannot be read ({exc})", where
        ) from None
    names, warnings = column_names(schema.names)
    if len(schema) > options.limits.max_columns:
        raise IngestError(
            "too-many-columns",
            f"the file has {len(schema):,} columns; at most {options.limits.max_columns:,}"
            " (limits.max_columns)",
            where,
        )
    if names != schema.names:
        schema = pa.schema(
            [f.with_name(n) for f, n in zip(schema, names, strict=True)], metadata=schema.metadata
        )
    sink = ParquetSink(out_path, schema)
    try:
        for batch in source.iter_batches(batch_size=BATCH_ROWS):
            sink.write(pa.Table.from_batches([batch]).rename_columns(names))
        rows = sink.close()
    except pa.ArrowException as exc:
        sink.abort()
        raise IngestError(
            "invalid-parquet", f"the Parquet data is damaged ({exc})", where
        ) from None
    except BaseException:
        sink.abort()
        raise
    finally:
        source.close()
    return WrittenTable(
        name=name,
        path=out_path,
        row_count=rows,
        schema=schema,
        source_format="parquet",
        options_used=options.with_(format="parquet"),
        warnings=warnings,
    )
