"""One schema for a whole streamed file: types from a bounded sample, re-read on surprise.

A Parquet file has one schema, but a stream only shows its values as they come. The
readers therefore hold the first ``limits.inference_bytes`` of parsed blocks, decide the
column types from them, then convert and write block by block. If a later block holds a
value that does not fit (``Misfit``: a kommun code ``0180`` after 40 MB of ``1440``s), the
partial file is dropped, the rest of the input is only *observed* (types widened, nothing
converted), and the input is read once more with the final types. Most files are read
once; a surprising one twice; memory stays at one sample plus one row group.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Generic, Protocol, TypeVar

import pyarrow as pa

from ingest.errors import excerpt
from ingest.readers.sink import ParquetSink

B = TypeVar("B")
B_contra = TypeVar("B_contra", contravariant=True)
B_co = TypeVar("B_co", covariant=True)
MAX_PASSES = 3


class Misfit(Exception):
    """A value that the decided type of its column cannot hold."""

    def __init__(self, column: str, line: int | None, value: str | None) -> None:
        super().__init__(column)
        self.column = column
        self.line = line
        self.value = value


class Plan(Protocol[B_contra]):
    """Type evidence and conversion for one reader's blocks."""

    def size(self, block: B_contra) -> int: ...

    def observe(self, block: B_contra) -> None: ...

    def decide(self) -> pa.Schema: ...

    def convert(self, block: B_contra) -> pa.Table: ...


class BlockSource(Protocol[B_co]):
    """One read of the input: blocks, and warnings about that read."""

    @property
    def warnings(self) -> list[str]: ...

    def __iter__(self) -> Iterator[B_co]: ...


class TwoPhaseWriter(Generic[B]):
    def __init__(
        self,
        open_blocks: Callable[[], BlockSource[B]],
        plan: Plan[B],
        path: Path,
        *,
        budget: int,
    ) -> None:
        self._open = open_blocks
        self._plan = plan
        self._path = path
        self._budget = budget
        self.warnings: list[str] = []

    def run(self) -> tuple[int, pa.Schema]:
        """Write the Parquet file; (rows, schema). Source warnings land in ``warnings``."""
        decided: pa.Schema | None = None
        for _ in range(MAX_PASSES):
            source = self._open()
            result = self._one_pass(source, decided)
            if isinstance(result, Misfit):
                decided = self._plan.decide()
                where = f" at line {result.line:,}" if result.line else ""
                value = f" {excerpt(result.value, 20)}" if result.value is not None else ""
                self.warnings.append(
                    f"column {result.column!r}: the value{value}{where} does not fit the type"
                    " chosen from the start of the file; the file was read again with"
                    f" {decided.field(result.column).type} for it"
                )
                continue
            rows, schema = result
            self.warnings[:0] = source.warnings
            return rows, schema
        raise RuntimeError("column types did not settle")  # pragma: no cover - a bug

    def _one_pass(
        self, source: BlockSource[B], decided: pa.Schema | None
    ) -> tuple[int, pa.Schema] | Misfit:
        plan = self._plan
        sink: ParquetSink | None = None
        held: list[B] = []
        held_size = 0
        misfit: Misfit | None = None
        blocks = iter(source)
        try:
            for block in blocks:
                if misfit is not None:
                    plan.observe(block)  # only widen types; the write is redone anyway
                    continue
                observed = False
                if decided is None:
                    plan.observe(block)
                    observed = True
                    held.append(block)
                    held_size += plan.size(block)
                    if held_size < self._budget:
                        continue
                    decided = plan.decide()
                todo, held = (held or [block]), []
                if sink is None:
                    sink = ParquetSink(self._path, decided)
                misfit = self._write(sink, todo, observed)
                if misfit is not None:
                    sink.abort()
                    sink = None
            if misfit is None:
                if decided is None:
                    decided = plan.decide()
                if sink is None:
                    sink = ParquetSink(self._path, decided)
                misfit = self._write(sink, held, True)
                if misfit is not None:
                    sink.abort()
                    sink = None
            if misfit is not None:
                return misfit
            assert sink is not None
            rows = sink.close()
            return rows, decided
        except BaseException:
            if sink is not None:
                sink.abort()
            raise
        finally:
            close = getattr(blocks, "close", None)
            if close is not None:
                close()

    def _write(self, sink: ParquetSink, blocks: list[B], observed: bool) -> Misfit | None:
        for block in blocks:
            try:
                table = self._plan.convert(block)
            except Misfit as misfit:
                if not observed:
                    self._plan.observe(block)
                return misfit
            sink.write(table)
        return None
