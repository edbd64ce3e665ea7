"""Benchmark: validating a large Parquet table, against DuckDB computing the same metrics.

    python benchmarks/validation.py [--rows 10000000] [--repeat 3] [--row-level]
        [--dir DIR] [--keep]

1. Generates a Parquet file of ``--rows`` rows × 10 columns of mixed types (int64 key, int16,
   int32, float64 with nulls, float32, text of low and high cardinality, date, timestamp with
   time zone, boolean) in batches of one million rows, so generation itself stays small.
2. Profiles it once (untimed) to play the previous version's profile.
3. Times, each in a fresh subprocess that reports its own wall time and peak RSS
   (``ru_maxrss`` of that process, DuckDB's threads included):

   - ``ours``: ``validation.validate(path, previous=profile, key_columns=["id"])``: the default
     suite (row count, key not-null and unique, schema and types against the previous version,
     null-fraction and range drift), i.e. what every upload pays;
   - ``duckdb``: the ceiling, one hand-written DuckDB query computing the same metrics (row
     count; per column null count and approximate distinct count; min/max/mean of numbers;
     min/max of times; exact distinct count of the key) with DuckDB's default settings;
   - with ``--row-level``, also ``ours + GX``: the same plus three row-level expectations (regex,
     in-set, between) that run through Great Expectations over record-batch chunks. Reported for
     information: row-level checks are opt-in per publisher suite and cost a pass in pandas.

It prints the median times of ``--repeat`` runs, the ratio ours/DuckDB (target at most 3x) and
the peak RSS (target at most 1 GB).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BATCH_ROWS = 1_000_000
TARGET_RATIO = 3.0
TARGET_RSS_MB = 1024
ROW_LEVEL_SUITE = """
expectations:
  - column: observation
    matches: '^obs-[0-9]+$'
  - column: kommun_kod
    length_between: [4, 4]
  - column: temperatur
    between: [-60, 50]
    severity: warning
"""


def generate(path: Path, rows: int) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    rng = np.random.default_rng(20261129)
    kommuner = pa.array([f"{k:04d}" for k in range(114, 2600, 8)][:290])  # 290 kommuner
    schema = None
    writer = None
    try:
        for start in range(0, rows, BATCH_ROWS):
            n = min(BATCH_ROWS, rows - start)
            ids = np.arange(start, start + n, dtype=np.int64)
            temperature = rng.normal(8.0, 9.0, n).round(1)
            nulls = rng.random(n) < 0.01
            seconds = rng.integers(1_577_836_800, 1_767_225_600, n)  # 2020 … 2025
            batch = pa.record_batch(
                {
                    "id": ids,
                    "kommun_kod": pc.take(kommuner, pa.array(rng.integers(0, 290, n))),
                    "ar": pa.array(rng.integers(2000, 2026, n).astype(np.int16)),
                    "temperatur": pa.array(temperature, mask=nulls),
                    "nederbord": pa.array(rng.gamma(1.5, 2.0, n).astype(np.float32)),
                    "antal": pa.array(rng.integers(0, 100_000, n).astype(np.int32)),
                    "observation": pc.binary_join_element_wise(
                        "obs", pc.cast(pa.array(ids * 7919 % 1_000_003), pa.string()), "-"
                    ),
                    "datum": pa.array(seconds // 86_400, pa.int32()).cast(pa.date32()),
                    "tidpunkt": pa.array(seconds * 1_000_000, pa.int64()).cast(
                        pa.timestamp("us", tz="Europe/Stockholm")
                    ),
                    "aktiv": pa.array(rng.random(n) < 0.7),
                }
            )
            if writer is None:
                schema = batch.schema
                writer = pq.ParquetWriter(path, schema, compression="zstd")
            writer.write_batch(batch, row_group_size=BATCH_ROWS)
    finally:
        if writer is not None:
            writer.close()


def ceiling_sql(path: Path) -> str:
    """The same metrics as the default suite needs, written directly for DuckDB."""
    src = "'" + str(path).replace("'", "''") + "'"
    parts = ["count(*)", "count(DISTINCT id)", "count(*) FILTER (WHERE id IS NOT NULL)"]
    for col in ["id", "kommun_kod", "ar", "temperatur", "nederbord", "antal", "observation"]:
        parts += [f"count(*) - count({col})", f"approx_count_distinct({col})"]
    for col in ["datum", "tidpunkt", "aktiv"]:
        parts += [f"count(*) - count({col})", f"approx_count_distinct({col})"]
    for col in ["id", "ar", "temperatur", "nederbord", "antal"]:
        parts += [f"min({col})", f"max({col})", f"avg({col})"]
    for col in ["datum", "tidpunkt"]:
        parts += [f"CAST(min({col}) AS VARCHAR)", f"CAST(max({col}) AS VARCHAR)"]
    return f"SELECT {', '.join(parts)} FROM read_parquet({src})"


def child(mode: str, path: Path, previous: Path | None) -> dict[str, Any]:
    """Runs in a fresh interpreter; returns what it measured about itself."""
    started = time.perf_counter()
    result: dict[str, Any] = {}
    if mode == "duckdb":
        import duckdb

        t0 = time.perf_counter()
        con = duckdb.connect()
        con.execute(ceiling_sql(path)).fetchall()
        result["seconds"] = time.perf_counter() - t0
    elif mode == "profile":
        from validation import compute_profile

        assert previous is not None
        previous.write_text(compute_profile(path, keys=[["id"]]).to_json())
        result["seconds"] = time.perf_counter() - started
    else:
        from validation import Profile, parse_suite, validate

        assert previous is not None
        profile = Profile.from_json(previous.read_text())
        suite = parse_suite(ROW_LEVEL_SUITE) if mode == "ours+gx" else None
        if suite is not None:
            # A worker imports GX once and keeps it; its import (seconds) is not per upload.
            import great_expectations  # noqa: F401
        t0 = time.perf_counter()
        report = validate(path, suite, previous=profile, key_columns=["id"])
        result["seconds"] = time.perf_counter() - t0
        result["decision"] = report.decision
        result["expectations"] = report.summary.total
        result["failed"] = [r.describe() for r in report.results if not r.success]
    result["process_seconds"] = time.perf_counter() - started
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def run_child(mode: str, path: Path, previous: Path) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", mode, "--path", str(path)]
    cmd += ["--previous", str(previous)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--row-level", action="store_true")
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the generated file")
    parser.add_argument("--child", choices=["ours", "ours+gx", "duckdb", "profile"])
    parser.add_argument("--path", type=Path)
    parser.add_argument("--previous", type=Path)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.path, args.previous)))
        return

    workdir = Path(tempfile.mkdtemp(prefix="datahamn-bench-", dir=args.dir))
    try:
        path, previous = workdir / "data.parquet", workdir / "previous-profile.json"
        t0 = time.perf_counter()
        generate(path, args.rows)
        size_mb = path.stat().st_size / 1e6
        print(
            f"generated {args.rows:,} rows x 10 columns: {size_mb:,.0f} MB Parquet (zstd) "
            f"in {time.perf_counter() - t0:.1f} s"
        )
        run_child("profile", path, previous)
        modes = ["duckdb", "ours"] + (["ours+gx"] if args.row_level else [])
        runs: dict[str, list[dict[str, Any]]] = {m: [] for m in modes}
        for _ in range(args.repeat):
            for mode in modes:  # interleaved, so a noisy neighbour hurts both sides alike
                runs[mode].append(run_child(mode, path, previous))
        print(
            f"\n{'':10} {'median s':>9} {'min s':>7} {'peak RSS MB':>12}  (of {args.repeat} runs)"
        )
        median: dict[str, float] = {}
        for mode in modes:
            seconds = [r["seconds"] for r in runs[mode]]
            median[mode] = statistics.median(seconds)
            rss = max(r["peak_rss_mb"] for r in runs[mode])
            print(f"{mode:10} {median[mode]:9.2f} {min(seconds):7.2f} {rss:12.0f}")
        last = runs["ours"][-1]
        print(
            f"\nours: {last['expectations']} expectations, decision {last['decision']}"
            + (f", failed: {last['failed']}" if last["failed"] else "")
        )
        ratio = median["ours"] / median["duckdb"]
        rss = max(r["peak_rss_mb"] for r in runs["ours"])
        print(
            f"ratio ours/DuckDB: {ratio:.2f}x (target <= {TARGET_RATIO:.0f}x) "
            f"{'OK' if ratio <= TARGET_RATIO else 'OVER'}"
        )
        print(
            f"peak RSS ours: {rss:.0f} MB (target <= {TARGET_RSS_MB} MB) "
            f"{'OK' if rss <= TARGET_RSS_MB else 'OVER'}"
        )
        if args.row_level:
            gx = runs["ours+gx"][-1]
            rate = args.rows / median["ours+gx"] / 1e6
            print(
                f"ours+gx: {median['ours+gx']:.1f} s ({rate:.2f} M rows/s), decision "
                f"{gx['decision']}, peak RSS {max(r['peak_rss_mb'] for r in runs['ours+gx']):.0f}"
                " MB"
            )
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    main()
