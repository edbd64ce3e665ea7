"""Allocator settings for the server and worker processes: memory a step frees goes back to
the OS, so that a process's peak is its largest step's rather than the sum of its steps
(docs/benchmarks.md, "Ingestion: the worker's memory")."""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import MutableMapping


def prefer_jemalloc(environ: MutableMapping[str, str] = os.environ) -> None:
    """Have Arrow allocate with jemalloc, which gives freed memory back to the OS.

    Must run before anything imports pyarrow: Arrow reads ``ARROW_DEFAULT_MEMORY_POOL``
    once, when its C++ default pool is first used (``pyarrow.set_memory_pool`` changes only
    the pool of calls made from Python, not the readers' and writers' own buffers).

    Why: a job's steps take turns (the reader's buffers, DuckDB's statistics, minio's
    upload parts, the personal-data scan), so each step's freed memory must go back for the
    process's peak to be the largest step's rather than their sum. pyarrow's default on
    Linux, mimalloc, keeps the pages that the reader's threads freed: after normalising a
    1 GB CSV the worker stayed 70-100 MB larger with no Arrow memory in use. An operator's
    own setting is kept; Linux only, where pyarrow's wheels include jemalloc. Once pyarrow
    is imported (a test calling a command in-process) the setting would only reach child
    processes, so it is left alone.
    """
    if sys.platform.startswith("linux") and "pyarrow" not in sys.modules:
        environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")


# glibc's mallopt parameter, and the size from which its malloc maps a buffer of its own.
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 8 << 20


def map_large_buffers(environ: MutableMapping[str, str] = os.environ) -> bool:
    """Make glibc's malloc give every buffer of 8 MiB or more back to the OS when freed.

    minio uploads the Parquet file in 16 MiB parts, three at a time from threads of its
    own. glibc maps a buffer that large by itself, but after the first is freed it raises
    that threshold to the freed size (up to 32 MiB), so the next parts are cut from the
    threads' heaps and stay there: the store step then became the worker's peak, 453-457 MB
    at 1 and 4 GB against 402 MB with this. Smaller buffers stay on the heap. Returns
    whether the threshold was set; not on other C libraries, nor if the operator set
    ``MALLOC_MMAP_THRESHOLD_``, which glibc has applied already.
    """
    if not sys.platform.startswith("linux") or "MALLOC_MMAP_THRESHOLD_" in environ:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))


def tune_allocators() -> None:
    """Both settings, for a server or worker process (before pyarrow is imported)."""
    prefer_jemalloc()
    map_large_buffers()
