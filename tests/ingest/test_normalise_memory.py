"""Memory stays flat: a ~200 MB CSV streamed from a generator, peak RSS measured in a child.

The upload never exists as a file or as bytes in memory: each ``open_source()`` returns a
new stream that formats rows as it is read, as an object store streams a GET.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.ingest.test_normalise_support import REPO

ROWS = 2_016_000
PEAK_RSS_MB = 400

CHILD = textwrap.dedent(
    f"""
    import io, json, resource, time
    from pathlib import Path
    import tempfile

    from ingest.normalise import normalise

    ROWS = {ROWS}
    CYCLE = 63_000  # every column but id repeats with this period
    NAMES = ["Borås", "Göteborg", "Kiruna", "Malmö", "Östersund", "Umeå"]
    TAILS = [
        f"{{NAMES[i % 6]}};{{(i * 7) % 3000:04d}};2020-{{1 + i % 12:02d}}-{{1 + i % 28:02d}};"
        f"{{i % 100}},{{i % 10}};{{i % 900 + 100}} {{i % 1000:03d}};"
        f"mätstation {{i % 28}} vid {{NAMES[i % 6]}}, kontrollerad och godkänd rad "
        for i in range(CYCLE)
    ]

    class Rows(io.RawIOBase):
        \"\"\"The upload, formatted as it is read: never a file, never all in memory.\"\"\"

        def __init__(self):
            self.i = -1
            self.pending = []
            self.size = 0

        def readable(self):
            return True

        def readinto(self, target):
            while self.size < len(target) and self.i < ROWS:
                if self.i < 0:
                    lines = ["id;kommun;kod;datum;värde;belopp;anteckning"]
                    self.i = 0
                else:
                    start, stop = self.i, min(self.i + CYCLE, ROWS)
                    lines = [f"{{i}};{{TAILS[i - start]}}{{i}}" for i in range(start, stop)]
                    self.i = stop
                block = ("\\n".join(lines) + "\\n").encode()
                self.pending.append(block)
                self.size += len(block)
            data = b"".join(self.pending)
            n = min(len(target), len(data))
            target[:n] = data[:n]
            self.pending = [data[n:]] if n < len(data) else []
            self.size = len(data) - n
            return n

    def peak_mb():
        # VmHWM, not getrusage's ru_maxrss: Linux carries the parent's peak over fork and
        # exec into ru_maxrss, so a child of a big pytest process would report pytest's.
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    started = time.monotonic()
    size = [0]
    with tempfile.TemporaryDirectory() as work:
        result = normalise(
            lambda: io.BufferedReader(Rows(), 1 << 20),
            filename="stor.csv",
            work_dir=Path(work),
            progress=lambda n: size.__setitem__(0, max(size[0], n)),
        )
        table = result.tables[0]
        print(json.dumps({{
            "rows": table.row_count,
            "types": {{c.name: c.arrow_type for c in table.columns}},
            "bytes": size[0],
            "seconds": time.monotonic() - started,
            "peak_mb": peak_mb(),
        }}))
    """
)


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_two_hundred_megabytes_in_bounded_memory() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=230,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["rows"] == ROWS
    assert report["bytes"] > 190_000_000
    assert report["types"] == {
        "id": "int64",
        "kommun": "string",
        "kod": "string",
        "datum": "date32[day]",
        "värde": "double",
        "belopp": "int64",
        "anteckning": "string",
    }
    assert report["peak_mb"] < PEAK_RSS_MB, report
