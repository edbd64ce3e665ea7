"""Helpers for the reading-core tests (normalise, readers); this module holds no tests.

Uploads are given to ``normalise`` as non-seekable streams, as the object store gives them.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest.errors import IngestError
from ingest.normalise import NormalisedTable, NormaliseResult, normalise
from ingest.options import FormatOptions, Limits

REPO = Path(__file__).resolve().parents[2]
REALWORLD = REPO.parent / "shared" / "data" / "realworld"


def realworld(name: str) -> Path:
    """A file of shared/data/realworld; its absence fails the test (it must not skip)."""
    path = REALWORLD / name
    if not path.is_file():
        pytest.fail(
            f"real-world test file missing: {path} (CI clones the repository with shared/"
            " beside it; the ingestion tests need shared/data/realworld)"
        )
    return path


class NonSeekable(io.RawIOBase):
    """A forward-only stream, like a GET from an object store."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, target: Any) -> int:
        chunk = self._data.read(len(target))
        target[: len(chunk)] = chunk
        return len(chunk)


def opener(data: bytes) -> Callable[[], BinaryIO]:
    return lambda: io.BufferedReader(NonSeekable(data))


def run(
    data: bytes | Path,
    filename: str,
    work_dir: Path,
    *,
    options: FormatOptions | None = None,
    limits: dict[str, Any] | None = None,
    **fields: Any,
) -> NormaliseResult:
    if isinstance(data, Path):
        data = data.read_bytes()
    opts = options or FormatOptions(**fields, limits=Limits(**(limits or {})))
    return normalise(opener(data), filename=filename, options=opts, work_dir=work_dir)


def only_table(result: NormaliseResult) -> NormalisedTable:
    assert len(result.tables) == 1, [t.name for t in result.tables]
    return result.tables[0]


def table_of(result: NormaliseResult) -> pa.Table:
    return pq.read_table(only_table(result).parquet_path)


def types(table: NormalisedTable) -> dict[str, str]:
    return {c.name: c.arrow_type for c in table.columns}


def fails(
    data: bytes | Path, filename: str, work_dir: Path, problem: str, **kw: Any
) -> IngestError:
    """Normalising must raise ``problem`` and leave no Parquet file behind."""
    with pytest.raises(IngestError) as caught:
        run(data, filename, work_dir, **kw)
    assert caught.value.problem == problem, caught.value.message
    leftovers = list(work_dir.glob("*.parquet")) + list(work_dir.glob(".spool-*"))
    assert leftovers == []
    return caught.value
