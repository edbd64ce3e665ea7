"""Where the table is in a text file: delimiter, preamble, header and width, from the head.

Published statistics rarely start at line 1. SMHI puts three blank-separated metadata
blocks before the header; Skolverket a title block; SHARK one ``version ...`` line. The rule:

1. Split the head into blocks at blank lines. The table is the block with the most rows
   sharing one field count (its *mode*, the table width); earlier blocks are preamble.
   An earlier block with the same width (3 or more fields) is taken as the table's start,
   since tables sometimes contain blank lines; key-value metadata (2 fields) is not.
2. Inside that block, leading rows with fewer than half the width filled are preamble
   too (SHARK's ``version 2020-09-28<TAB><TAB><TAB>``).
3. The first remaining row is the header unless every value in it is a number or a date.

Field counts are counted by the csv module, so quoted delimiters and quoted line breaks
are not miscounted. Every decision can be overridden through ``FormatOptions``.
"""

from __future__ import annotations

import csv
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from ingest.errors import IngestError, Location, excerpt
from ingest.options import FormatOptions

CANDIDATES = (",", ";", "\t", "|")
SNIFF_RECORDS = 2_000
PREAMBLE_LINES = 50
PREAMBLE_CHARS = 500
_DATA_LIKE = re.compile(
    r"[+-]?(\d+|\d{1,3}([ \u00a0\u202f]\d{3})+)([.,]\d+)?|\d{4}-\d{2}-\d{2}", re.ASCII
)


@dataclass(frozen=True)
class Record:
    line: int  # first physical line (1-based)
    end_line: int
    fields: list[str]

    @property
    def raw(self) -> int:
        return len(self.fields)

    @property
    def eff(self) -> int:
        """Fields up to the last non-blank one: trailing empty fields do not count."""
        n = len(self.fields)
        while n and not self.fields[n - 1].strip():
            n -= 1
        return n


@dataclass
class Layout:
    delimiter: str
    skip_rows: int  # physical lines before the header (or the first data row)
    header: bool
    data_start: int  # first physical line of data
    names: list[str]  # published names, one per column; "" when unnamed
    warnings: list[str] = field(default_factory=list)
    preamble: list[str] = field(default_factory=list)  # the non-blank lines skipped

    @property
    def width(self) -> int:
        return len(self.names)


def parse_records(
    lines: Sequence[str], delimiter: str, quote: str, limit: int = SNIFF_RECORDS
) -> list[Record]:
    out: list[Record] = []
    reader = csv.reader((ln + "\n" for ln in lines), delimiter=delimiter, quotechar=quote)
    last = 0
    for fields in reader:
        out.append(Record(last + 1, reader.line_num, fields))
        last = reader.line_num
        if len(out) >= limit:
            break
    return out


def _mode(counts: Sequence[int]) -> tuple[int, int]:
    """(most common count, how often); ties go to the larger count."""
    value, freq = max(Counter(counts).items(), key=lambda kv: (kv[1], kv[0]))
    return value, freq


def choose_delimiter(
    lines: Sequence[str], quote: str, prefer_tab: bool, decimal: str | None = None
) -> str | None:
    """The candidate that splits the most rows into one consistent count of 2+ fields.

    A declared decimal comma rules the comma out: ``1,5`` would otherwise look like two
    fields in a one-column file.
    """
    best: tuple[int, int, int] | None = None
    chosen = None
    for rank, delimiter in enumerate(CANDIDATES):
        if delimiter == decimal:
            continue
        if not any(delimiter in ln for ln in lines[:SNIFF_RECORDS]):
            continue
        records = parse_records(lines, delimiter, quote)
        counts = [r.raw for r in records if r.eff and r.raw >= 2]
        if not counts:
            continue
        width, freq = _mode(counts)
        tie_break = 1 if (prefer_tab and delimiter == "\t") else 0
        score = (freq, tie_break, -rank)
        if best is None or score > best:
            best, chosen = score, delimiter
    return chosen


def locate_table(counts: Sequence[tuple[int, int]]) -> tuple[int, int]:
    """(index of the first table row, table width) from each row's (raw, effective) count.

    Rows with an effective count of 0 are blank. Shared by the CSV and Excel readers.
    """
    blocks: list[list[int]] = [[]]
    for i, (_, eff) in enumerate(counts):
        if eff == 0:
            if blocks[-1]:
                blocks.append([])
        else:
            blocks[-1].append(i)
    blocks = [b for b in blocks if b]
    if not blocks:
        return -1, 0
    modes = [_mode([counts[i][0] for i in b]) for b in blocks]
    candidates = [k for k, (m, _) in enumerate(modes) if m >= 2] or list(range(len(blocks)))
    main = max(candidates, key=lambda k: modes[k][1])  # first of equals: max is stable
    width = modes[main][0]
    start = main
    while start > 0 and width >= 3 and modes[start - 1][0] == width:
        start -= 1
    rows = blocks[start]
    half = math.ceil(width / 2) if width >= 2 else 1
    first = next((i for i in rows if counts[i][1] >= half), rows[0])
    return first, width


def looks_like_data(values: Sequence[str]) -> bool:
    filled = [v.strip() for v in values if v.strip()]
    return bool(filled) and all(_DATA_LIKE.fullmatch(v) for v in filled)


def find_layout(
    lines: Sequence[str],
    *,
    options: FormatOptions,
    where: Location,
    prefer_tab: bool = False,
) -> Layout:
    """Delimiter, preamble, header and column names from the first lines of the file."""
    quote = options.quote
    delimiter = options.delimiter or choose_delimiter(lines, quote, prefer_tab, options.decimal)
    warnings: list[str] = []
    if delimiter is None:  # one column: any delimiter that cannot occur in a number does
        delimiter = "\t" if prefer_tab else ("," if options.decimal != "," else ";")
    records = parse_records(lines, delimiter, quote)
    if options.skip_rows is not None:
        records = [r for r in records if r.line > options.skip_rows]
    content = [r for r in records if r.eff]
    if not content:
        raise IngestError("empty-file", "the file has no rows", where)
    if options.skip_rows is not None:
        first = records.index(content[0])
        after = [r.raw for r in content[1:]] or [content[0].raw]
        width = _mode(after)[0]
    else:
        first, width = locate_table([(r.raw, r.eff) for r in records])
    start = records[first]
    limit = options.limits.max_columns
    if max(start.raw, width) > limit:
        raise IngestError(
            "too-many-columns",
            f"the table has {max(start.raw, width):,} columns; at most {limit:,} are allowed"
            " (limits.max_columns)",
            Location(**{**where.to_dict(), "line": start.line}),
        )
    header = options.header if options.header is not None else not looks_like_data(start.fields)
    names = [n.strip() for n in start.fields] if header else [""] * width
    if len(names) > width:
        extra = [n for n in names[width:] if n]
        if extra:
            shown = ", ".join(excerpt(n, 30) for n in extra[:3])
            warnings.append(
                f"the header (line {start.line}) has {len(names)} fields but the rows have"
                f" {width}; extra header fields ignored: {shown}"
            )
        names = names[:width]
    names += [""] * (width - len(names))
    if start.line > 1:
        warnings.append(f"{start.line - 1} line(s) before the table skipped (preamble)")
    return Layout(
        delimiter=delimiter,
        skip_rows=start.line - 1,
        header=header,
        data_start=(start.end_line + 1) if header else start.line,
        names=names,
        warnings=warnings,
        preamble=preamble_text(lines[: start.line - 1]),
    )


def preamble_text(lines: Sequence[str]) -> list[str]:
    """The metadata above a table (station, unit, period): kept short for the catalog."""
    kept = [ln.strip()[:PREAMBLE_CHARS] for ln in lines if ln.strip()]
    return kept[:PREAMBLE_LINES]
