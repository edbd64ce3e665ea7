"""The server and worker processes' allocators: freed memory goes back to the OS between a
job's steps (datahamn.memory)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from datahamn.memory import map_large_buffers, prefer_jemalloc

REPO = Path(__file__).resolve().parents[1]
GLIBC = sys.platform.startswith("linux") and os.confstr("CS_GNU_LIBC_VERSION") is not None
HEAP = """
import ctypes, sys
from datahamn.memory import map_large_buffers

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd",
        "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost",
    )]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
if sys.argv[1] == "worker":
    assert map_large_buffers()
first = bytearray(16 << 20)  # an upload part
del first
second = bytearray(16 << 20)
print(libc.mallinfo2().hblkhd >= 16 << 20)  # mapped by itself, so unmapped when freed
"""
POOL = (
    "from datahamn.memory import prefer_jemalloc\n"
    "prefer_jemalloc()\n"
    "import pyarrow\n"
    "print(pyarrow.default_memory_pool().backend_name)\n"
)


def _pool(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    done = subprocess.run(
        [sys.executable, "-c", POOL],
        cwd=REPO,
        env={**clean, "PYTHONPATH": str(REPO), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="jemalloc is chosen on Linux")
def test_the_worker_allocates_arrow_memory_with_jemalloc() -> None:
    assert _pool() == "jemalloc"


def test_an_operators_choice_of_pool_is_kept() -> None:
    assert _pool(ARROW_DEFAULT_MEMORY_POOL="system") == "system"


def test_nothing_is_set_once_pyarrow_is_imported() -> None:
    # Arrow has read the variable already; setting it would only change child processes.
    import pyarrow  # noqa: F401

    environ: dict[str, str] = {}
    prefer_jemalloc(environ)
    assert environ == {}


def _second_part_mapped(mode: str) -> bool:
    clean = {k: v for k, v in os.environ.items() if k != "MALLOC_MMAP_THRESHOLD_"}
    done = subprocess.run(
        [sys.executable, "-c", HEAP, mode],
        cwd=REPO,
        env={**clean, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip() == "True"


@pytest.mark.skipif(not GLIBC, reason="a glibc setting")
def test_large_buffers_stay_mapped_after_one_is_freed() -> None:
    """By default glibc cuts the second 16 MiB part from the heap, which keeps it."""
    assert not _second_part_mapped("default")
    assert _second_part_mapped("worker")


def test_an_operators_malloc_threshold_is_kept() -> None:
    assert map_large_buffers({"MALLOC_MMAP_THRESHOLD_": "1048576"}) is False
