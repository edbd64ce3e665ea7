"""Records of a delimited text stream, made regular before Arrow parses them.

Arrow's CSV parser is fast but unforgiving: every row must have the header's field count
and it cannot stop at the end of a table. ``RecordScanner`` sits in front of it, reading
lines in chunks: a chunk without quotes whose lines all have the table's field count (by far
the common case) passes through with one ``str.count`` per line; anything else goes line by
line, with the csv module parsing quoted (possibly multi-line) records. There:

- a row with extra fields is cut to the table width (a *ragged* row only if the extra
  fields hold something), a short row is padded with empty fields (ragged);
- a blank line followed by a row of a different width ends the table (Skolverket's
  definitions block after the data); if rows of the table's width resume later, that was
  no end but damage, and it is an error;
- more ragged rows than tolerated is an error naming the first lines.
"""

from __future__ import annotations

import bisect
import csv
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from ingest.errors import IngestError, Location, excerpt
from ingest.options import Limits

BLOCK_CHARS = 2 << 20
MIN_TOLERATED = 10


@dataclass
class Chunk:
    """Regular records (one string each, no terminator) and where they start in the file."""

    records: list[str]
    starts: list[tuple[int, int]]  # (index of a record, its line); later ones follow on
    chars: int

    def line_of(self, index: int) -> int | None:
        if index < 0 or not self.starts:
            return None
        k = bisect.bisect_right(self.starts, (index, 1 << 62)) - 1
        first_index, line = self.starts[k]
        return line + index - first_index


class _Feeder:
    """The csv module's input: lines of the current chunk, from ``pos`` on."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.pos = 0
        self.starved = False

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if self.pos >= len(self.lines):
            self.starved = True
            raise StopIteration
        self.pos += 1
        return self.lines[self.pos - 1] + "\n"


class RecordScanner:
    def __init__(
        self, *, delimiter: str, quote: str, width: int, data_start: int,
        limits: Limits, where: Location,
    ) -> None:  # fmt: skip
        self.delimiter, self.quote, self.width = delimiter, quote, width
        self.data_start = data_start
        self.limits = limits
        self.where = where
        self.rows = 0
        self.ragged = 0
        self.ragged_lines: list[int] = []
        self.ragged_widths: Counter[int] = Counter()
        self.cut_blank = 0  # rows whose extra fields were all empty
        self.ended_at: int | None = None
        self.after_end = 0
        self.after_end_table_like = 0
        self._after_blank = False
        self._pending: list[str] = []
        self._pending_line = 0
        self._out = Chunk([], [], 0)
        self._expect: tuple[int, int] = (-1, -1)
        self._out_buffer = io.StringIO()
        self._writer = csv.writer(
            self._out_buffer, delimiter=delimiter, quotechar=quote, lineterminator=""
        )

    # -- output -------------------------------------------------------------------
    def _emit(self, text: str, line: int) -> None:
        out = self._out
        if self._expect != (len(out.records), line):
            out.starts.append((len(out.records), line))
        out.records.append(text)
        out.chars += len(text)
        # line_of counts one line per record from the last start: a record of several lines
        # makes the next one start anew.
        self._expect = (len(out.records), line + 1)
        self.rows += 1

    def take(self) -> Chunk:
        out, self._out = self._out, Chunk([], [], 0)
        self._expect = (-1, -1)
        return out

    @property
    def chars(self) -> int:
        return self._out.chars

    @property
    def pending(self) -> bool:
        """Whether a quoted record is open: the next lines must come through ``feed``."""
        return bool(self._pending)

    def regular(self, count: int) -> bool:
        """Account for ``count`` rows of the table's width that Arrow parsed on its own.

        They are table rows (True), or rows after the table's end that only count towards
        the damage check (False). Call between ``take`` and the next ``feed``.
        """
        if self.ended_at is not None:
            self.after_end += count
            self.after_end_table_like += count
            return False
        self._after_blank = False
        self.rows += count
        return True

    # -- input --------------------------------------------------------------------
    def feed(self, lines: list[str], first_line: int, has_quote: bool) -> None:
        if first_line < self.data_start:
            skip = self.data_start - first_line
            if skip >= len(lines):
                return
            lines, first_line = lines[skip:], self.data_start
        if self._pending or has_quote or self.width == 1:
            self._slow(lines, first_line)
            return
        # No quotes: a field count is one str.count per line. Runs of regular lines are
        # copied as they are; only the odd line (blank, ragged, after the end) is examined.
        d, regular = self.delimiter, self.width - 1
        counts = [ln.count(d) for ln in lines]
        if counts.count(regular) == len(counts):
            self._run(lines, 0, len(lines), first_line)
            return
        done = 0
        for i, count in enumerate(counts):
            if count != regular:
                self._run(lines, done, i, first_line)
                self._slow([lines[i]], first_line + i)
                done = i + 1
        self._run(lines, done, len(lines), first_line)

    def _run(self, lines: list[str], start: int, stop: int, first_line: int) -> None:
        """Lines ``start:stop``, all of the table's width: rows, or counted after the end."""
        if start >= stop:
            return
        if self.ended_at is not None:
            self.after_end += stop - start
            self.after_end_table_like += stop - start
            return
        self._after_blank = False
        out = self._out
        line = first_line + start
        if self._expect != (len(out.records), line):
            out.starts.append((len(out.records), line))
        out.records.extend(lines[start:stop])
        out.chars += sum(map(len, lines[start:stop]))
        self.rows += stop - start
        self._expect = (len(out.records), line + stop - start)

    def _slow(self, lines: list[str], first_line: int) -> None:
        if self._pending:
            lines = self._pending + lines
            first_line = self._pending_line
            self._pending = []
        feeder = _Feeder(lines)
        reader = csv.reader(feeder, delimiter=self.delimiter, quotechar=self.quote)
        quote, d = self.quote, self.delimiter
        while feeder.pos < len(lines):
            pos = feeder.pos
            line = lines[pos]
            if quote not in line:
                feeder.pos += 1
                if not line.strip():
                    self._after_blank = self.rows > 0
                    continue
                self._record(line, None, line.count(d) + 1, first_line + pos)
                continue
            fields = next(reader)
            if feeder.starved:  # the quoted record goes on in the next chunk
                self._pending = lines[pos:]
                self._pending_line = first_line + pos
                if sum(map(len, self._pending)) > self.limits.max_line_bytes:
                    raise IngestError(
                        "line-too-long",
                        f"a quoted record is longer than {self.limits.max_line_bytes:,} bytes"
                        f" (limits.max_line_bytes); is a quote left open? It starts"
                        f" {excerpt(line)}",
                        self._at(first_line + pos),
                    )
                return
            text = "\n".join(lines[pos : feeder.pos]) if feeder.pos - pos > 1 else line
            self._record(text, fields, len(fields), first_line + pos)

    def _record(self, text: str, fields: list[str] | None, raw: int, line: int) -> None:
        if self.ended_at is not None:
            self.after_end += 1
            self.after_end_table_like += raw == self.width
            return
        if self._after_blank and raw != self.width:
            self.ended_at = line
            self.after_end = 1
            return
        self._after_blank = False
        width = self.width
        if raw == width:
            self._emit(text, line)
            return
        if raw < width:
            self._ragged(line, raw)
            self._emit(text + self.delimiter * (width - raw), line)
            return
        parts = fields if fields is not None else text.split(self.delimiter)
        if any(p.strip() for p in parts[width:]):
            self._ragged(line, raw)
        else:
            self.cut_blank += 1
        if fields is None:
            text = self.delimiter.join(parts[:width])
        else:
            self._out_buffer.seek(0)
            self._out_buffer.truncate()
            self._writer.writerow(parts[:width])
            text = self._out_buffer.getvalue()
        self._emit(text, line)

    def _ragged(self, line: int, raw: int) -> None:
        self.ragged += 1
        self.ragged_widths[raw] += 1
        if len(self.ragged_lines) < 5:
            self.ragged_lines.append(line)
        if self.ragged > self.limits.max_ragged_rows:
            self._raise_ragged()

    def _at(self, line: int) -> Location:
        return Location(**{**self.where.to_dict(), "line": line})

    def _describe(self) -> str:
        lines = ", ".join(f"{n:,}" for n in self.ragged_lines)
        widths = ", ".join(f"{w}" for w, _ in self.ragged_widths.most_common(3))
        return (
            f"{self.ragged:,} row(s) have a different number of fields ({widths}) than the"
            f" table's {self.width} (first at line(s) {lines})"
        )

    def _tolerated(self) -> int:
        share = int(self.limits.max_ragged_fraction * self.rows)
        return min(self.limits.max_ragged_rows, max(MIN_TOLERATED, share))

    def _raise_ragged(self) -> None:
        raise IngestError(
            "ragged-rows",
            f"{self._describe()}; at most {self._tolerated():,} are tolerated"
            " (limits.max_ragged_fraction, limits.max_ragged_rows)",
            self._at(self.ragged_lines[0]),
        )

    def finish(self) -> list[str]:
        """Check the whole-file rules; the warnings for a table that passed them."""
        if self._pending:
            raise IngestError(
                "unterminated-quote",
                f"a quoted field opened here is never closed; it starts"
                f" {excerpt(self._pending[0])}",
                self._at(self._pending_line),
            )
        if self.ragged > self._tolerated():
            self._raise_ragged()
        warnings = []
        if self.ended_at is not None:
            if self.after_end_table_like > self._tolerated():
                raise IngestError(
                    "ragged-rows",
                    f"after a blank line, rows of a different width start at line"
                    f" {self.ended_at:,}, but {self.after_end_table_like:,} later rows have"
                    f" the table's {self.width} fields again: the table is damaged there",
                    self._at(self.ended_at),
                )
            warnings.append(
                f"the table ends at the blank line before line {self.ended_at:,}: the"
                f" {self.after_end:,} row(s) after it have another layout (notes or"
                " definitions) and were not loaded"
            )
        if self.ragged:
            warnings.append(f"{self._describe()}; extra fields dropped, missing fields left empty")
        if self.cut_blank:
            warnings.append(
                f"{self.cut_blank:,} row(s) had empty fields beyond the table's"
                f" {self.width}; dropped"
            )
        return warnings
